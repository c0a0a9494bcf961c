import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fernetDecrypt, parseFernetKeys } from '../../src/airflow/fernet.js';
import { parseJsonExact } from '../../src/airflow/pyjson.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from '../cli/support/server.js';
import { airflowDb, developer, FERNET_KEY, sql } from './support.js';

// An int beyond 2^53 in an extra, typed on the command line, keeps every digit through the whole main job: the CLI's
// request, the Environment Manager's storage (secret members sealed, a link's override merged), its responses (cached
// or not), the CLI's reading of them, and the row dev start writes. Each of these ints is rounded by a JS number
// (123456789012345678901 becomes 123456789012345680000), so a lossy step anywhere shows.
let em: TestEnvironmentManager;
beforeAll(async () => {
  em = await startTestEnvironmentManager();
});
afterAll(async () => {
  await em?.close();
});

const BASE_EXTRA = '{"account": 123456789012345678901, "ids": [12345678901234567890, -98765432109876543210], "api_key": 18446744073709551617, "n": 7}';
const LINK_EXTRA = '{"shard": 36893488147419103233}';
const EXPECTED = {
  account: 123456789012345678901n,
  ids: [12345678901234567890n, -98765432109876543210n],
  api_key: 18446744073709551617n,
  n: 7,
  shard: 36893488147419103233n,
};

describe('integers beyond 2^53 in an extra, from the CLI through the Environment Manager to the metadata database', () => {
  it('keep every digit in the API, in --json output and in the row dev start writes; a second run changes nothing', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const created = await dev.cli(['env', 'connection', 'create', 'big_ints', '--type', 'http', '--host', 'api.example.com', '--extra', BASE_EXTRA]);
    expect(created.code, created.stderr).toBe(0);
    const linked = await dev.cli(['env', 'connection', 'link', 'create', 'big_ints', '-d', em.deployments.alpha1, '--extra', LINK_EXTRA]);
    expect(linked.code, linked.stderr).toBe(0);

    // Masked: the secret-named member is hidden, the others are exact. Twice: the second answer is the server's cache.
    for (let i = 0; i < 2; i++) {
      const listed = await dev.cli(['env', 'connection', 'list', '-d', em.deployments.alpha1, '--resolve-linked', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const [item] = (parseJsonExact(listed.stdout) as Array<{ objectKey: string; connection: { extra: unknown } }>).filter((o) => o.objectKey === 'big_ints');
      expect(item!.connection.extra).toEqual({ ...EXPECTED, api_key: '****' });
    }
    const clear = await dev.cli(['env', 'connection', 'list', '-d', em.deployments.alpha1, '--resolve-linked', '--show-secrets', '--json']);
    expect(clear.code, clear.stderr).toBe(0);
    expect(clear.stdout).toContain('"api_key": 18446744073709551617');
    const [item] = (parseJsonExact(clear.stdout) as Array<{ objectKey: string; connection: { extra: unknown } }>).filter((o) => o.objectKey === 'big_ints');
    expect(item!.connection.extra).toEqual(EXPECTED);

    const db = await airflowDb('3.1');
    const target = ['-d', em.deployments.alpha1, '--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '10s'];
    const run = await dev.cli(['dev', 'start', ...target]);
    expect(run.code, run.stderr).toBe(0);
    const [row] = await sql<{ extra: string }>(db, "SELECT extra FROM connection WHERE conn_id = 'big_ints'");
    const text = fernetDecrypt(parseFernetKeys(FERNET_KEY), row!.extra);
    expect(parseJsonExact(text)).toEqual(EXPECTED);
    expect(text).toContain('"account": 123456789012345678901');

    const again = await dev.cli(['dev', 'start', ...target, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { rows: Array<{ key: string; action: string }> };
    expect(report.rows.find((r) => r.key === 'big_ints')?.action).toBe('unchanged');
  });
});
