import { createHash } from 'node:crypto';
import type pg from 'pg';
import { createDeploymentIn, createOrganizationIn, createUserIn, createWorkspaceIn } from './admin.js';
import type { Keyring } from './crypto.js';
import { withTransaction } from './db.js';
import { ObjectService, type CreateObjectRequest } from './objects.js';
import { principalFromGrants } from './roles.js';
import type { ConnectionFields, VariableFields } from './secrets.js';

/** What `server start --dev` puts in its database, so the demo and the tests can find their way around. */
export interface DevSeed {
  organization: { id: string; name: string };
  workspaces: Array<{ id: string; name: string }>;
  deployments: Array<{ id: string; name: string; workspaceId: string; workspaceName: string }>;
  ownerUser: { id: string; username: string };
  /** The deployment the demo uses: `etl-production` in `data-platform`. */
  demoDeploymentId: string;
}

export const DEV_ORGANIZATION_NAME = 'Demo Organization';
const SEEDING_NAME = `${DEV_ORGANIZATION_NAME} (seeding)`;

/** Stable cuid-like ids derived from a name, so every dev database has the same ids for the same seed. */
export function seedId(name: string): string {
  const digest = createHash('sha256').update(`envmgr-dev-seed:${name}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = 'c';
  for (let i = 0; out.length < 25; i++) out += alphabet[(digest[i % digest.length] as number) % 36];
  return out;
}

const WORKSPACES = [
  { key: 'data-platform', description: 'Pipelines that load the warehouse' },
  { key: 'analytics', description: 'Reporting and dashboards' },
];
const DEPLOYMENTS = [
  { key: 'etl-production', workspace: 'data-platform', isDevelopmentMode: false },
  { key: 'etl-staging', workspace: 'data-platform', isDevelopmentMode: true },
  { key: 'reporting-dev', workspace: 'analytics', isDevelopmentMode: true },
];

export function devSeed(): DevSeed {
  const workspaces = WORKSPACES.map((w) => ({ id: seedId(`workspace:${w.key}`), name: w.key }));
  const deployments = DEPLOYMENTS.map((d) => ({
    id: seedId(`deployment:${d.key}`),
    name: d.key,
    workspaceId: seedId(`workspace:${d.workspace}`),
    workspaceName: d.workspace,
  }));
  return {
    organization: { id: seedId('organization'), name: DEV_ORGANIZATION_NAME },
    workspaces,
    deployments,
    ownerUser: { id: seedId('user:demo-owner'), username: 'demo-owner' },
    demoDeploymentId: seedId('deployment:etl-production'),
  };
}

function objects(): CreateObjectRequest[] {
  const ws = (k: string) => seedId(`workspace:${k}`);
  const dep = (k: string) => seedId(`deployment:${k}`);
  const link = (k: string, overrides?: { connection?: ConnectionFields; airflowVariable?: VariableFields }) => ({
    scope: 'DEPLOYMENT' as const,
    scopeEntityId: dep(k),
    ...(overrides ? { overrides } : {}),
  });
  return [
    {
      objectKey: 'warehouse_postgres', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws('data-platform'),
      description: 'The analytics warehouse',
      connection: { type: 'postgres', host: 'warehouse.internal', login: 'etl', password: 'demo-warehouse-password', schema: 'analytics', port: 5432, extra: { sslmode: 'prefer' } },
      links: [
        link('etl-production', { connection: { host: 'warehouse-prod.internal', extra: { sslmode: 'require' } } }),
        link('etl-staging', { connection: { host: 'warehouse-staging.internal', password: 'demo-staging-password' } }),
      ],
    },
    {
      objectKey: 'aws_default', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws('data-platform'),
      description: 'Linked to all deployments except etl-staging',
      connection: { type: 'aws', login: 'AKIADEMOACCESSKEY', password: 'demo-aws-secret-access-key', extra: { region_name: 'eu-west-1' } },
      autoLinkDeployments: true,
      excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: dep('etl-staging') }],
    },
    {
      objectKey: 'slack_alerts', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws('data-platform'),
      connection: { type: 'http', host: 'https://hooks.slack.com', extra: { webhook_token: 'demo-slack-webhook-token', channel: '#data-alerts' } },
      links: [link('etl-production')],
    },
    {
      objectKey: 'environment_name', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws('data-platform'),
      airflowVariable: { value: 'shared', isSecret: false },
      links: [link('etl-production', { airflowVariable: { value: 'production' } }), link('etl-staging', { airflowVariable: { value: 'staging' } })],
    },
    {
      objectKey: 'api_secret_key', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws('data-platform'),
      airflowVariable: { value: 'demo-api-secret-value', isSecret: true },
      links: [link('etl-production')],
    },
    {
      objectKey: 'log_level', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws('data-platform'),
      airflowVariable: { value: 'INFO', isSecret: false },
      links: [link('etl-production'), link('etl-staging')],
    },
    {
      objectKey: 'log_level', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: dep('etl-staging'),
      description: 'Beats the workspace value on staging',
      airflowVariable: { value: 'DEBUG', isSecret: false },
    },
    {
      objectKey: 'metrics_db', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: dep('etl-production'),
      connection: { type: 'postgres', host: 'metrics.internal', login: 'metrics', password: 'demo-metrics-password', schema: 'metrics', port: 5433, extra: { sslmode: 'require', private_key: 'demo-metrics-private-key' } },
    },
    {
      objectKey: 'batch_size', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: dep('etl-production'),
      airflowVariable: { value: '500', isSecret: false },
    },
    {
      objectKey: 'bigquery_default', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws('analytics'),
      connection: { type: 'google_cloud_platform', extra: { project: 'demo-analytics', keyfile_dict: { type: 'service_account', private_key_id: 'demo-key-id' } } },
      links: [link('reporting-dev', { connection: { extra: { project: 'demo-analytics-dev' } } })],
    },
    {
      objectKey: 'report_recipients', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws('analytics'),
      airflowVariable: { value: 'team@example.com', isSecret: false },
      links: [link('reporting-dev')],
    },
    {
      objectKey: 'smtp_default', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: dep('reporting-dev'),
      connection: { type: 'smtp', host: 'smtp.example.com', login: 'reports', password: 'demo-smtp-password', port: 587 },
    },
    {
      objectKey: 'dashboard_theme', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: dep('reporting-dev'),
      airflowVariable: { value: 'dark', isSecret: false },
    },
  ];
}

// Serialises seeding between processes starting on one database at once.
const SEED_LOCK = 0x656e7673; // 'envs'

/** Seeds the demo organization once; a run that died half-way (name still "(seeding)") is removed and redone. */
export async function seedDevData(pool: pg.Pool, keyring: Keyring): Promise<DevSeed> {
  const seed = devSeed();
  const lock = await pool.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [SEED_LOCK]);
    const { rows } = await lock.query<{ name: string }>('SELECT name FROM organizations WHERE id = $1', [seed.organization.id]);
    if (rows[0]?.name === SEEDING_NAME) await lock.query('DELETE FROM organizations WHERE id = $1', [seed.organization.id]);
    if (rows[0] === undefined || rows[0].name === SEEDING_NAME) {
      await withTransaction(pool, async (tx) => {
        await createOrganizationIn(tx, { id: seed.organization.id, name: SEEDING_NAME, environmentSecretsFetchingEnabled: true });
        for (const w of WORKSPACES) {
          await createWorkspaceIn(tx, { id: seedId(`workspace:${w.key}`), organizationId: seed.organization.id, name: w.key, description: w.description });
        }
        for (const d of DEPLOYMENTS) {
          await createDeploymentIn(tx, {
            id: seedId(`deployment:${d.key}`),
            workspaceId: seedId(`workspace:${d.workspace}`),
            name: d.key,
            namespace: `demo-${d.key}`,
            isDevelopmentMode: d.isDevelopmentMode,
          });
        }
        await createUserIn(tx, { id: seed.ownerUser.id, organizationId: seed.organization.id, username: seed.ownerUser.username, fullName: 'Demo Owner', organizationRole: 'ORGANIZATION_OWNER' });
      });
      const owner = principalFromGrants(
        {
          tokenId: 'seed', tokenName: 'seed', organizationId: seed.organization.id, userId: seed.ownerUser.id,
          username: seed.ownerUser.username, subjectType: 'USER', secretsFetchingEnabled: true, organizationRevision: '0',
        },
        [{ role: 'ORGANIZATION_OWNER' }],
      );
      const service = new ObjectService(pool, keyring);
      for (const object of objects()) await service.create(owner, seed.organization.id, object);
      await lock.query('UPDATE organizations SET name = $2 WHERE id = $1', [seed.organization.id, DEV_ORGANIZATION_NAME]);
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [SEED_LOCK]).catch(() => undefined);
    lock.release();
  }
  return seed;
}
