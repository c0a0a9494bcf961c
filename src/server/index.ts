// The Environment Manager server (`envmgr server`): the API of API.md on Postgres.
export { buildApp, type BuildAppOptions } from './app.js';
export { startServer, resolveKeyring, closeOnSignals, type RunningServer, type StartServerOptions } from './start.js';
export { startDevServer, postgresCanReach, runningDevDatabaseUrl, type DevServer, type StartDevServerOptions } from './dev.js';
export { devSeed, seedId, DEV_ORGANIZATION_NAME, type DevSeed } from './seed.js';
export {
  adminCreateOrganization, adminCreateWorkspace, adminCreateDeployment, adminCreateUser, adminCreateToken,
  adminSetOrganization, adminList, ServerAdminError,
  type CreateOrganizationInput, type CreateWorkspaceInput, type CreateDeploymentInput, type CreateUserInput,
  type CreateTokenInput, type SetOrganizationInput, type AdminListKind, type AdminListFilter,
} from './admin.js';
export { Keyring, MasterKeyError, parseMasterKeys, generateMasterKey } from './crypto.js';
export type { ServerConfig } from './config.js';
export { migrate } from './migrations.js';
export { createPool } from './db.js';
export { jsonLineLogger, type ServerLogger, type LogEntry } from './logging.js';
export { ALL_ROLES, type Role } from './roles.js';
