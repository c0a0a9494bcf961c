import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envmgr-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes a new file 0600, and replaces an existing one whatever its mode', async () => {
    const file = join(dir, 'sub', '.env');
    await writeFileAtomic(file, 'A=1\n');
    expect(await readFile(file, 'utf8')).toBe('A=1\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeFile(file, 'old', { mode: 0o644 });
    await writeFileAtomic(file, 'A=2\n');
    expect(await readFile(file, 'utf8')).toBe('A=2\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('writes through a symbolic link (and a chain of them): the target changes, the link stays a link', async () => {
    await mkdir(join(dir, 'shared'));
    const target = join(dir, 'shared', 'team.env');
    await writeFile(target, 'OLD=1\n');
    await symlink('shared/team.env', join(dir, 'middle.env'));
    await symlink('middle.env', join(dir, '.env'));
    await writeFileAtomic(join(dir, '.env'), 'NEW=1\n');
    expect((await lstat(join(dir, '.env'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, '.env'))).toBe('middle.env');
    expect((await lstat(join(dir, 'middle.env'))).isSymbolicLink()).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('NEW=1\n');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it('creates the file a dangling link points to, and refuses a loop of links', async () => {
    await symlink(join(dir, 'later.yaml'), join(dir, 'airflow_settings.yaml'));
    await writeFileAtomic(join(dir, 'airflow_settings.yaml'), 'airflow: {}\n');
    expect(await readFile(join(dir, 'later.yaml'), 'utf8')).toBe('airflow: {}\n');
    expect((await lstat(join(dir, 'airflow_settings.yaml'))).isSymbolicLink()).toBe(true);
    await symlink('b', join(dir, 'a'));
    await symlink('a', join(dir, 'b'));
    await expect(writeFileAtomic(join(dir, 'a'), 'x')).rejects.toThrow(/too many levels of symbolic links/);
  });

  it('creates missing parents 0700, and fails (does not hang) where Linux refuses a directory, such as under /proc', async () => {
    const file = join(dir, 'a', 'b', 'c.env');
    await writeFileAtomic(file, 'x');
    expect((await stat(join(dir, 'a'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o700);
    // Node's recursive mkdir spins forever on this (ENOENT with the parent present).
    if (process.platform === 'linux') await expect(writeFileAtomic('/proc/envmgr-no-such-dir/x.yaml', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
