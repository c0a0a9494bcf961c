import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/pg/embedded.js';

// One Postgres for the whole run; each test file makes its own database (see ./pg.ts).
let server: EmbeddedPostgresHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startEmbeddedPostgres({ fast: true, maxConnections: 400 });
  project.provide('pgAdminUrl', server.url('postgres'));
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
