import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/pg/embedded.js';

// One Postgres for the whole run; each test file makes its own database (see ./pg.ts).
let server: EmbeddedPostgresHandle | undefined;

// Every temporary file and directory of the run (the tests', and those of the CLI processes they start, which get
// TMPDIR through baseEnv) goes under one directory, removed when the run ends: a run leaves nothing in /tmp.
let runTmp: string | undefined;
const outerTmp = process.env.TMPDIR;

export async function setup(project: TestProject): Promise<void> {
  runTmp = await mkdtemp(join(tmpdir(), 'envmgr-test-run-'));
  // As root, embedded Postgres runs as the `postgres` user, which must be able to reach its data directory below.
  await chmod(runTmp, 0o711);
  // Set before the workers start, which inherit it (os.tmpdir() reads TMPDIR on each call).
  process.env.TMPDIR = runTmp;
  server = await startEmbeddedPostgres({ fast: true, maxConnections: 400 });
  project.provide('pgAdminUrl', server.url('postgres'));
}

export async function teardown(): Promise<void> {
  try {
    await server?.stop();
  } finally {
    if (outerTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outerTmp;
    if (runTmp) await rm(runTmp, { recursive: true, force: true });
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
