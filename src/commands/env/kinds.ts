import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from '../../cli/errors.js';
import type { AirflowVariableFields, ConnectionFields, ObjectType } from '../../api/types.js';
import { parseJsonExact, pythonJsonLoads } from '../../airflow/pyjson.js';

/** The two kinds of environment object; each verb is written once and attached under both. */
export interface EnvKind {
  /** The command name: `connection`, `airflow-variable`. */
  command: string;
  objectType: ObjectType;
  /** For messages: `connection`, `variable`. */
  noun: string;
}

export const CONNECTION: EnvKind = { command: 'connection', objectType: 'CONNECTION', noun: 'connection' };
export const AIRFLOW_VARIABLE: EnvKind = { command: 'airflow-variable', objectType: 'AIRFLOW_VARIABLE', noun: 'variable' };

/** Field values given on the command line; secrets come from stdin or a prompt, read later by the verb. */
export interface FieldInput {
  connection?: Partial<ConnectionFields>;
  variable?: Partial<AirflowVariableFields>;
  /** `--password-stdin` / `--value-stdin`. */
  secretFromStdin: boolean;
  /** `--extra-file`: the extra, as a JSON object, in this file (`-`: stdin), read later by the verb like a secret. */
  extraFile?: string;
}

export interface FieldFlags {
  type?: string;
  host?: string;
  login?: string;
  schema?: string;
  port?: string;
  extra?: string;
  extraFile?: string;
  passwordStdin?: boolean;
  value?: string;
  valueStdin?: boolean;
  secret?: boolean;
}

const KEY = /^[A-Za-z0-9_.-]{1,200}$/;

export function checkKey(key: string, kind: EnvKind): void {
  if (!KEY.test(key)) {
    throw new UsageError(`invalid ${kind.noun} key "${key}": use 1-200 letters, digits, "_", "." or "-"`);
  }
}

/**
 * Adds the field flags of a kind: connection fields, or a variable's value. `secret`: `mark` gives `--secret`
 * (create), `toggle` also `--no-secret` (update), `none` neither (a link's override is secret exactly when its
 * variable is).
 */
export function addFieldOptions(command: Command, kind: EnvKind, opts: { secret: 'mark' | 'toggle' | 'none' }): Command {
  if (kind.objectType === 'CONNECTION') {
    return command
      .option('--type <conn-type>', 'Airflow connection type, e.g. postgres, aws, http')
      .option('--host <host>', 'host')
      .option('--login <login>', 'login')
      .option('--schema <schema>', 'schema (database)')
      .option('--port <port>', 'port (1-65535)')
      .option('--extra <json>', 'extra fields as a JSON object (for secret members prefer --extra-file)')
      .option('--extra-file <path>', 'extra fields as a JSON object read from a file, "-" for stdin (keeps secret members such as a key file out of the shell history)')
      .option('--password-stdin', 'read the password from stdin (otherwise prompted for, without echo, on a terminal)');
  }
  command
    .option('--value <value>', 'the value (for a secret, prefer --value-stdin or the prompt)')
    .option('--value-stdin', 'read the value from stdin');
  if (opts.secret === 'toggle') command.option('--secret', 'mark the value secret').option('--no-secret', 'mark the value not secret');
  else if (opts.secret === 'mark') command.option('--secret', 'mark the value secret (masked unless --show-secrets)');
  return command;
}

/** Maps the field flags to values, validating each and naming the flag at fault. */
export function fieldInput(kind: EnvKind, flags: FieldFlags): FieldInput {
  if (kind.objectType === 'CONNECTION') {
    const connection: Partial<ConnectionFields> = {};
    if (flags.type !== undefined) {
      if (flags.type.trim() === '') throw new UsageError('--type must not be empty');
      connection.type = flags.type;
    }
    for (const field of ['host', 'login', 'schema'] as const) {
      const value = flags[field];
      if (value === undefined) continue;
      if (value.length > 500) throw new UsageError(`--${field} is longer than 500 characters`);
      connection[field] = value;
    }
    if (flags.port !== undefined) connection.port = parsePort(flags.port);
    if (flags.extra !== undefined && flags.extraFile !== undefined) throw new UsageError('--extra and --extra-file are mutually exclusive; pass one');
    if (flags.extraFile === '-' && flags.passwordStdin) {
      throw new UsageError('--password-stdin and --extra-file - both read stdin; put the extra in a file, or let envmgr prompt for the password');
    }
    if (flags.extra !== undefined) connection.extra = parseExtra(flags.extra);
    return { connection, secretFromStdin: flags.passwordStdin === true, ...(flags.extraFile !== undefined ? { extraFile: flags.extraFile } : {}) };
  }
  if (flags.value !== undefined && flags.valueStdin) throw new UsageError('--value and --value-stdin are mutually exclusive; pass one');
  const variable: Partial<AirflowVariableFields> = {};
  if (flags.value !== undefined) variable.value = flags.value;
  if (flags.secret !== undefined) variable.isSecret = flags.secret;
  return { variable, secretFromStdin: flags.valueStdin === true };
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new UsageError(`invalid --port "${text}"; use a number from 1 to 65535`);
  return port;
}

/**
 * A connection's extra from JSON text; `source` names where it came from (`--extra`, `--extra-file key.json`).
 * Bad text in a flag is a usage error; in a file (`Failure` = UserError) it is the file's content to fix.
 */
export function parseExtra(text: string, source = '--extra', Failure: new (message: string) => Error = UsageError): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJsonExact(text);
  } catch {
    // Node's JSON.parse message quotes the text around the error, which may be a key file's secret: Python's
    // json.loads message says where, and nothing of what.
    throw new Failure(`${source} is not valid JSON (${whereJsonFails(text)}); pass a JSON object such as '{"region": "eu-west-1"}'`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Failure(`${source} must be a JSON object, e.g. '{"region": "eu-west-1"}'`);
  return value as Record<string, unknown>;
}

/** Where JSON text stops being JSON, as json.loads says it (`Expecting value: line 1 column 13 (char 12)`). */
function whereJsonFails(text: string): string {
  try {
    pythonJsonLoads(text);
  } catch (error) {
    return (error as Error).message.replace(/^JSONDecodeError: /, '');
  }
  // json.loads takes NaN and Infinity, JSON does not.
  const at = /(?<![\w.])(NaN|-?Infinity)(?!\w)/.exec(text);
  return at ? `${at[1]} at char ${at.index} is not JSON` : 'it does not parse';
}

/**
 * Collects a repeatable flag: `--link a --link b` or `--link a,b`. A value that names nothing (`--link "$UNSET"`) is
 * refused: dropped, it would quietly leave out what was meant.
 */
export function collect(value: string, previous: string[] = []): string[] {
  const items = value.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (items.length === 0) throw new InvalidArgumentError('It needs a deployment id or name, not a blank value.');
  return [...previous, ...items];
}
