import type pg from 'pg';

/**
 * Numbered schema migrations, applied in order at start and recorded in `schema_migrations`. They live in a TS
 * module (not .sql files) so the built `dist/` carries them without a copy step. Never edit an applied one: add a new
 * number.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE organizations (
  id text PRIMARY KEY,
  name text NOT NULL,
  environment_secrets_fetching_enabled boolean NOT NULL DEFAULT false,
  -- bumped by every write in the organization; response caches key on it
  revision bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspaces (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workspaces_organization_idx ON workspaces (organization_id, name);

CREATE TABLE deployments (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  namespace text NOT NULL,
  runtime_version text NOT NULL,
  airflow_version text NOT NULL,
  status text NOT NULL,
  type text NOT NULL,
  region text,
  cloud_provider text,
  cluster_name text,
  is_dag_deploy_enabled boolean NOT NULL DEFAULT true,
  is_cicd_enforced boolean NOT NULL DEFAULT false,
  is_development_mode boolean NOT NULL DEFAULT false,
  web_server_url text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deployments_organization_idx ON deployments (organization_id, name);
CREATE INDEX deployments_workspace_idx ON deployments (workspace_id);

CREATE TABLE users (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  username text NOT NULL,
  full_name text,
  organization_role text CHECK (organization_role IN ('ORGANIZATION_OWNER', 'ORGANIZATION_MEMBER')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organization_id, username)
);

CREATE TABLE api_tokens (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id text REFERENCES users(id) ON DELETE CASCADE,
  name text NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  roles jsonb NOT NULL DEFAULT '[]',
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE environment_objects (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  deployment_id text REFERENCES deployments(id) ON DELETE CASCADE,
  scope text NOT NULL CHECK (scope IN ('WORKSPACE', 'DEPLOYMENT')),
  scope_entity_id text NOT NULL,
  object_key text NOT NULL,
  object_type text NOT NULL CHECK (object_type IN ('CONNECTION', 'AIRFLOW_VARIABLE')),
  description text,
  auto_link_deployments boolean NOT NULL DEFAULT false,
  -- the connection or variable with every secret value replaced by '****' (json keeps member order)
  body json NOT NULL,
  -- the secret values, AES-256-GCM sealed, and the id of the master key that sealed them
  secrets text,
  secrets_key_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by jsonb NOT NULL,
  updated_by jsonb NOT NULL,
  CHECK ((scope = 'DEPLOYMENT') = (deployment_id IS NOT NULL))
);
CREATE UNIQUE INDEX environment_objects_key_idx ON environment_objects (scope_entity_id, object_type, object_key);
CREATE INDEX environment_objects_workspace_idx ON environment_objects (workspace_id) WHERE scope = 'WORKSPACE';
CREATE INDEX environment_objects_organization_idx ON environment_objects (organization_id);

CREATE TABLE environment_object_links (
  object_id text NOT NULL REFERENCES environment_objects(id) ON DELETE CASCADE,
  deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  position integer NOT NULL,
  connection_overrides json,
  airflow_variable_overrides json,
  secrets text,
  secrets_key_id text,
  PRIMARY KEY (object_id, deployment_id)
);
CREATE INDEX environment_object_links_deployment_idx ON environment_object_links (deployment_id);

CREATE TABLE environment_object_exclusions (
  object_id text NOT NULL REFERENCES environment_objects(id) ON DELETE CASCADE,
  deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  position integer NOT NULL,
  PRIMARY KEY (object_id, deployment_id)
);
CREATE INDEX environment_object_exclusions_deployment_idx ON environment_object_exclusions (deployment_id);
`,
  },
];

// An arbitrary constant: the advisory lock that serialises migrations between processes sharing one database.
const MIGRATION_LOCK = 0x656e766d; // 'envm'

/** Applies pending migrations; safe when several processes start at once against one database. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => r.version));
      for (const migration of MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(err as Error).message}`);
        }
        applied.push(migration.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
  return applied;
}
