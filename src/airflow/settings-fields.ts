/** The settings-file key behind each model field, so that a problem names what the user wrote and where. */
export const SETTINGS_FIELD: Record<string, string> = {
  conn_id: 'conn_id', conn_type: 'conn_type', host: 'conn_host', schema: 'conn_schema', login: 'conn_login',
  password: 'conn_password', port: 'conn_port', extra: 'conn_extra',
  key: 'variable_name', value: 'variable_value',
  name: 'pool_name', slots: 'pool_slot', description: 'pool_description',
};

/**
 * The settings-file key holding a model field of an entry, given the keys the entry has (`fieldLines`): a value that
 * came from conn_uri (no key of its own in the entry) is conn_uri's.
 */
export function settingsFieldOf(field: string, keysPresent?: Readonly<Record<string, number>>): string {
  const named = SETTINGS_FIELD[field] ?? field;
  if (keysPresent && keysPresent[named] === undefined && keysPresent.conn_uri !== undefined && named !== 'conn_id') return 'conn_uri';
  return named;
}
