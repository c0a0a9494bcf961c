// The programmatic API (DESIGN.md §Programmatic API): the Airflow core, for scripts and other tools.
export { fernetEncrypt, fernetDecrypt, fernetRotate, parseFernetKeys, FernetKeyError, InvalidTokenError } from './airflow/fernet.js';
export type { AirflowConnection, AirflowVariable, AirflowPool } from './airflow/model.js';
export { pythonJsonDumps } from './airflow/pyjson.js';
