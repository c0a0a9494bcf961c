import type { Command } from 'commander';
import type { AirflowObjectKind } from '../../airflow/model.js';

export interface KindFlags {
  connections?: boolean;
  variables?: boolean;
  pools?: boolean;
}

/** `-c/-v/-p` as in Astro's `dev object import|export`: none given means all three. */
export function addKindFlags(command: Command): Command {
  return command
    .option('-c, --connections', 'connections only (combinable with -v, -p)')
    .option('-v, --variables', 'variables only (combinable with -c, -p)')
    .option('-p, --pools', 'pools only (combinable with -c, -v)');
}

export function selectedKinds(flags: KindFlags): Set<AirflowObjectKind> {
  const kinds = new Set<AirflowObjectKind>();
  if (flags.connections) kinds.add('connection');
  if (flags.variables) kinds.add('variable');
  if (flags.pools) kinds.add('pool');
  return kinds.size > 0 ? kinds : new Set(['connection', 'variable', 'pool']);
}

export function addTargetFlags(command: Command): Command {
  return command
    .option('--db-url <url>', 'local metadata database (Postgres or SQLAlchemy URL)')
    .option('--fernet-key <key>', 'Fernet key of the local Airflow (empty: unencrypted)')
    .option('--wait <duration>', 'how long to wait for the database (default: dev.wait, 5m)')
    .option('--env <file>', "the project's .env, read for the Fernet key (default: dev.env_file, .env)");
}
