// The programmatic API (DESIGN.md §Programmatic API): the Airflow core, for scripts and other tools.
export { fernetEncrypt, fernetDecrypt, fernetRotate, parseFernetKeys, FernetKeyError, InvalidTokenError } from './airflow/fernet.js';
export type { FernetKeys } from './airflow/fernet.js';
export type { AirflowConnection, AirflowVariable, AirflowPool, ValidationProblem, SourceLocation } from './airflow/model.js';
export { pythonJsonDumps, pythonJsonLoads } from './airflow/pyjson.js';
export { PythonError } from './airflow/pyurl.js';
export {
  parseConnectionUri,
  formatConnectionUri,
  airflowGetUri,
  connectionFromUri,
  connectionToUri,
  uriRoundTripIssues,
  extraToText,
  extraTextToObject,
  AIRFLOW_VARIANTS,
} from './airflow/uri.js';
export type { AirflowVariant, ConnectionFields, ConnectionFieldsInput, UriOptions } from './airflow/uri.js';
export {
  parseConnectionJson,
  formatConnectionJson,
  parseConnectionValue,
  connectionFromJson,
  connectionToJson,
  connectionFromValue,
} from './airflow/json.js';
export type { ParsedConnection } from './airflow/json.js';
export { validateConnection, validateVariable, validatePool, envVarNameFor, airflowValidateKey, sanitizeConnId, formatProblem } from './airflow/validate.js';
export { readSettingsFile, writeSettingsFile } from './airflow/settings.js';
export type { SettingsReadResult, SettingsContent } from './airflow/settings.js';
export {
  formatEnvLine,
  formatEnvValue,
  envQuotingFor,
  mergeEnvFile,
  parseEnvFile,
  readAirflowEnvFile,
  connectionEnvEntry,
  variableEnvEntry,
  EnvValueError,
} from './airflow/envfile.js';
export type { EnvEntry } from './airflow/envfile.js';
export {
  exportConnectionsJson,
  exportConnectionsYaml,
  exportConnectionsEnv,
  exportVariablesJson,
  exportPoolsJson,
  parseLocalFilesystemSecrets,
  loadLocalFilesystemConnections,
  localFilesystemFormat,
  AirflowFileError,
} from './airflow/airflow-files.js';
export type { ConnectionRow } from './airflow/airflow-files.js';
