/**
 * The names Airflow takes for secrets (`DEFAULT_SENSITIVE_FIELDS` of its secrets masker): a field or extra member
 * whose name contains one of them, case-insensitively, is masked in Airflow's UI and logs.
 */
export const SENSITIVE_NAMES: readonly string[] = [
  'access_token', 'api_key', 'apikey', 'authorization', 'passphrase', 'passwd', 'password', 'private_key', 'secret',
  'token', 'keyfile_dict', 'service_account',
];

export function isSensitiveName(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_NAMES.some((s) => lower.includes(s));
}
