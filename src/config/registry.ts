import { maskUrlPasswords, redactDbUrl } from '../sync/db-url.js';

/** Where a key may be set: in the project file, the global file, or either. */
export type SettingScope = 'project' | 'global' | 'any';
export type SettingType = 'boolean' | 'string' | 'duration' | 'enum';

export interface SettingDefinition {
  key: string;
  description: string;
  type: SettingType;
  default?: string;
  allowed?: readonly string[];
  scope: SettingScope;
  /** The value as shown unless secrets are asked for (`--show-secrets`): a key whose value may hold a password. */
  mask?: (value: string) => string;
}

const BOOL = ['true', 'false'] as const;

/**
 * Every key `config get|set` knows (DESIGN.md §Configuration and credentials). Only `dev.db_url` and
 * `dev.start_command` may hold a secret (a password in a URL): they are shown masked unless asked for.
 */
export const SETTINGS: readonly SettingDefinition[] = [
  {
    key: 'disable_env_objects',
    description: 'never fetch objects from the Environment Manager in dev start (refuses --workspace-id/--deployment-id)',
    type: 'boolean',
    default: 'false',
    allowed: BOOL,
    scope: 'any',
  },
  { key: 'dev.db_url', description: 'URL of the local Airflow metadata database', type: 'string', scope: 'any', mask: redactDbUrl },
  { key: 'dev.settings_file', description: 'Airflow settings file read by dev start and object import/export', type: 'string', default: 'airflow_settings.yaml', scope: 'any' },
  { key: 'dev.env_file', description: '.env file of the project', type: 'string', default: '.env', scope: 'any' },
  { key: 'dev.fernet_key_file', description: 'file holding the Fernet key of the local Airflow', type: 'string', scope: 'any' },
  { key: 'dev.start_command', description: 'command run before the sync, e.g. "docker compose up -d"', type: 'string', scope: 'any', mask: maskUrlPasswords },
  { key: 'dev.wait', description: 'how long dev start waits for the metadata database (e.g. 30s, 5m)', type: 'duration', default: '5m', scope: 'any' },
  { key: 'dev.prefer', description: 'which side wins when the settings file and the Environment Manager hold the same key', type: 'enum', default: 'local', allowed: ['local', 'remote'], scope: 'any' },
  { key: 'project.workspace', description: 'workspace id used by this project when none is given', type: 'string', scope: 'any' },
  { key: 'project.deployment', description: 'deployment id used by this project when none is given', type: 'string', scope: 'any' },
  { key: 'output.color', description: 'colour in terminal output', type: 'enum', default: 'auto', allowed: ['auto', 'always', 'never'], scope: 'any' },
];

/** A value as `config` prints it: masked where the key may hold a password, unless `showSecrets`. */
export function shownValue(key: string, value: string, showSecrets = false): string {
  const mask = findSetting(key)?.mask;
  return mask && !showSecrets ? mask(value) : value;
}

export function findSetting(key: string): SettingDefinition | undefined {
  return SETTINGS.find((s) => s.key === key);
}

/** The environment variable that overrides a key: `dev.db_url` → `ENVMGR_DEV_DB_URL`. */
export function envVarFor(key: string): string {
  return 'ENVMGR_' + key.toUpperCase().replace(/[.-]/g, '_');
}

const DURATION = /^(\d+)(ms|s|m|h)$/;

/**
 * Checks a value against its key's type; returns the problem, or undefined when the value is fine. `from` names
 * where the value was read (an environment variable, a file and line), for a value the user did not just type.
 */
export function checkValue(def: SettingDefinition, value: string, from?: string): string | undefined {
  const what = `invalid value "${value}" for ${def.key}${from ? ` (from ${from})` : ''}`;
  if (def.allowed && !def.allowed.includes(value)) return `${what}; valid values: ${def.allowed.join(', ')}`;
  if (def.type === 'duration' && !DURATION.test(value)) return `${what}; use a number with a unit: 500ms, 30s, 5m, 1h`;
  return undefined;
}

/** `30s` → 30000. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(`invalid duration "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}
