import { execFileSync, spawnSync } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import { detectAirflowSchema, loadSchemaFixture, readAirflowObjects, type AirflowSchemaVersion } from '../../src/metadb/index.js';
import { baseEnv, runCli, tempHome, type CliResult } from '../cli/support/cli.js';
import type { TestEnvironmentManager } from '../cli/support/server.js';
import { createTestDatabase } from '../support/pg.js';

export const FERNET_KEY = '1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=';
export const OTHER_KEY = 'G84VGRVtqGB0kvOsZB72ye0ATDq-635Ss8x4AnXC_jg=';

/** A fresh database holding the tables of one Airflow version, as `airflow db migrate` leaves them. */
export async function airflowDb(version: AirflowSchemaVersion = '3.1'): Promise<string> {
  const url = await createTestDatabase('af');
  await loadSchemaFixture(url, version);
  return url;
}

export async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Every row of the tables envmgr touches, as text, for "nothing changed" comparisons. */
export async function dump(url: string): Promise<string> {
  const tables = ['connection', 'variable', 'slot_pool'];
  const out: string[] = [];
  for (const t of tables) {
    const rows = await sql(url, `SELECT to_jsonb(t)::text AS row, xmin::text AS xmin FROM ${t} t ORDER BY 1`);
    out.push(`${t}: ${rows.map((r) => `${r.row}@${r.xmin}`).join('\n')}`);
  }
  const state = await sql<{ exists: boolean }>(url, "SELECT to_regclass('envmgr_sync_state') IS NOT NULL AS exists");
  if (state[0]!.exists) out.push(`state: ${(await sql(url, 'SELECT to_jsonb(s)::text AS row FROM envmgr_sync_state s ORDER BY 1')).map((r) => r.row).join('\n')}`);
  return out.join('\n');
}

/** The decrypted objects of a metadata database. */
export async function readBack(url: string, key: string | null = FERNET_KEY) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const info = await detectAirflowSchema(client);
    return await readAirflowObjects(client, info, key ? parseFernetKeys(key) : null);
  } finally {
    await client.end();
  }
}

export interface Developer {
  home: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[], opts?: { stdin?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  writeProjectFile(name: string, text: string): Promise<string>;
}

/** A developer with a project directory (`.envmgr/` present), logged in to the Environment Manager. */
export async function developer(em: TestEnvironmentManager | undefined, opts: { token?: string; workspace?: string; extraEnv?: NodeJS.ProcessEnv } = {}): Promise<Developer> {
  const home = await tempHome('envmgr-dev-');
  await mkdir(join(home, 'project', '.envmgr'), { recursive: true });
  const cwd = join(home, 'project');
  const env = baseEnv(home, opts.extraEnv);
  const cli = (args: string[], o: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runCli(args, { env: { ...env, ...o.env }, cwd, stdin: o.stdin, timeoutMs: 60_000 });
  if (em) {
    const login = await cli(['login', em.url, '--with-token', ...(opts.workspace ? ['--workspace-id', opts.workspace] : [])], { stdin: opts.token ?? em.token });
    expect(login.code, login.stderr).toBe(0);
  }
  return {
    home,
    env,
    cli,
    async writeProjectFile(name, text) {
      const path = join(cwd, name);
      await writeFile(path, text);
      return path;
    },
  };
}

/** A caller of the Environment Manager's API with the owner token, to set up objects. */
export function api(em: TestEnvironmentManager, token = em.token) {
  return async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${em.url}/v1/organizations/${em.organizationId}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** A python3 that has `cryptography`, or undefined (the tests that need it then say they are skipped). */
export function pythonWithCryptography(): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(candidate, ['-c', 'import cryptography.fernet'], { stdio: 'ignore' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/** Decrypts tokens with Python's `cryptography` MultiFernet. */
export function pythonDecrypt(python: string, key: string, tokens: string[]): string[] {
  const script = 'import sys, json\nfrom cryptography.fernet import Fernet, MultiFernet\n' +
    'keys, tokens = json.load(sys.stdin)\nf = MultiFernet([Fernet(k) for k in keys.split(",")])\n' +
    'print(json.dumps([f.decrypt(t.encode()).decode("utf-8") for t in tokens]))\n';
  return JSON.parse(execFileSync(python, ['-c', script], { input: JSON.stringify([key, tokens]) }).toString()) as string[];
}
