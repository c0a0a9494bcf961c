import { describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempHome } from '../cli/support/cli.js';
import { airflowDb, FERNET_KEY } from '../dev/support.js';

// Found by the reliability suites: bad flag values and missing files are user errors with a clear message.
describe('errors found by the bad-input suite', () => {
  it('a malformed --wait is a usage error (exit 2)', async () => {
    const home = await tempHome();
    const r = await runCli(['dev', 'start', '--wait', 'soon', '--db-url', 'postgresql://u:p@127.0.0.1:1/x'], { env: baseEnv(home), cwd: home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid duration "soon" for dev.wait (from flag)');
  });

  it('a named settings file that does not exist: exit 1, says so in words, not "unexpected"', async () => {
    const home = await tempHome();
    const db = await airflowDb();
    const r = await runCli(['object', 'import', '-s', 'nope.yaml', '--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '5s'], { env: baseEnv(home), cwd: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: cannot read settings file \S*nope\.yaml: no such file/);
    expect(r.stderr).not.toMatch(/unexpected|ENOENT/);
  });
});
