import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_ENTRIES, ParsedConfigCache } from '../../src/config/cache.js';
import { Settings } from '../../src/config/settings.js';

// $ENVMGR_HOME/cache/config-parsed.json holds the text of every config file it parsed. It must not keep the text of
// files that are gone (a deleted project), nor grow with every project visited.

let root: string;
let home: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envmgr-cache-'));
  home = join(root, 'envmgr-home');
  await mkdir(home, { recursive: true });
});

const cacheFile = () => join(home, 'cache', 'config-parsed.json');
const cachedFiles = async () => Object.keys((JSON.parse(await readFile(cacheFile(), 'utf8')) as { entries: Record<string, unknown> }).entries);

async function project(name: string, text = `project:\n  workspace: ${name}\n`): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, '.envmgr'), { recursive: true });
  await writeFile(join(dir, '.envmgr', 'config.yaml'), text);
  return dir;
}

const visit = (dir: string) => Settings.load({ env: { ENVMGR_HOME: home }, cwd: dir, homeDir: root });

describe('the parsed-config cache', () => {
  it('keeps no file whose URL holds a password, whatever the password holds (/, ?, @, quotes)', async () => {
    for (const [i, password] of ['/Xsec1', '18490/Xsec2', "ab'Xsec3", 'ab"Xsec4', 'a@Xsec5'].entries()) {
      const url = `postgresql://postgres:${password}@127.0.0.1:18490/airflow`;
      await visit(await project(`p${i}`, `dev:\n  db_url: ${JSON.stringify(url)}\n  start_command: ${JSON.stringify(`psql '${url}'`)}\n`));
    }
    await visit(await project('plain'));
    const text = await readFile(cacheFile(), 'utf8');
    expect(text).not.toMatch(/Xsec/);
    expect(await cachedFiles()).toEqual([join(root, 'plain', '.envmgr', 'config.yaml')]);
  });

  it('drops the entry of a config file that no longer exists when it is next written', async () => {
    const gone = await project('gone', 'project:\n  workspace: GONE_WORKSPACE_TEXT\n');
    await visit(gone);
    expect(await cachedFiles()).toEqual([join(gone, '.envmgr', 'config.yaml')]);
    await rm(gone, { recursive: true });
    const other = await project('other');
    await visit(other);
    expect(await cachedFiles()).toEqual([join(other, '.envmgr', 'config.yaml')]);
    expect(await readFile(cacheFile(), 'utf8')).not.toContain('GONE_WORKSPACE_TEXT');
  });

  it(`keeps only the ${MAX_ENTRIES} most recently used files`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const dirs: string[] = [];
      // One project visited every two hours; the first one is visited again now and then (a read refreshes its
      // entry when that is over an hour old), so it stays although it was parsed first.
      for (let i = 0; i < MAX_ENTRIES + 6; i++) {
        vi.setSystemTime(1_700_000_000_000 + i * 7_200_000);
        const dir = await project(`p${i}`);
        dirs.push(dir);
        await visit(dir);
        if (i % 20 === 19) await visit(dirs[0]!);
      }
      const kept = await cachedFiles();
      expect(kept).toHaveLength(MAX_ENTRIES);
      expect(kept).toContain(join(dirs[0]!, '.envmgr', 'config.yaml'));
      expect(kept).toContain(join(dirs.at(-1)!, '.envmgr', 'config.yaml'));
      // The oldest ones visited once are forgotten.
      for (const i of [1, 2, 3, 4, 5, 6]) expect(kept).not.toContain(join(dirs[i]!, '.envmgr', 'config.yaml'));
      expect(kept).toContain(join(dirs[7]!, '.envmgr', 'config.yaml'));
    } finally {
      vi.useRealTimers();
    }
  });

  it('still answers for a file it holds, with its data and lines', async () => {
    const dir = await project('p');
    const file = join(dir, '.envmgr', 'config.yaml');
    const cache = new ParsedConfigCache(home);
    cache.put(file, 'a: 1\n', { a: 1 }, { a: 1 });
    await cache.save();
    expect(new ParsedConfigCache(home).get(file, 'a: 1\n')).toEqual({ data: { a: 1 }, lines: { a: 1 } });
    expect(new ParsedConfigCache(home).get(file, 'a: 2\n')).toBeUndefined();
  });
});
