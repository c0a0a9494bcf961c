import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv } from '../cli/support/cli.js';

// global-setup.ts points TMPDIR at one directory per run and removes it at the end, so that the temporary homes,
// projects and databases of the tests (and of the CLI processes they start) never pile up in the system's /tmp.
describe('the test run temporary directory', () => {
  it('is where this worker and the CLI processes the tests start make their temporary files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envmgr-probe-'));
    expect(basename(dirname(dir))).toMatch(/^envmgr-test-run-/);
    // baseEnv is the reliability suites' environment builder too.
    expect(baseEnv('/nowhere').TMPDIR).toBe(tmpdir());
  });
});
