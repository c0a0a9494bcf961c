import { existsSync, statSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, parse as parsePath, resolve } from 'node:path';

/** `$ENVMGR_HOME`, else `~/.envmgr`. */
export function envmgrHome(env: NodeJS.ProcessEnv, homeDir: string): string {
  return env.ENVMGR_HOME ? resolve(env.ENVMGR_HOME) : join(homeDir, '.envmgr');
}

/**
 * The project root: the nearest directory from `cwd` upwards that holds `.envmgr/`. The envmgr home itself
 * (`~/.envmgr`) is not a project marker, or every project under `~` would read the global file as its own.
 */
export function findProjectDir(cwd: string, home: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const marker = join(dir, '.envmgr');
    if (resolve(marker) !== resolve(home) && isDirectory(marker)) return dir;
    const parent = dirname(dir);
    if (parent === dir || dir === parsePath(dir).root) return undefined;
    dir = parent;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a file, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes `path` atomically with mode 0600: a temporary file in the same directory, then a rename, so a reader
 * never sees half a file and a crash never leaves one. The directory is created 0700 when missing.
 */
export async function writeFileAtomic(linkOrPath: string, content: string): Promise<void> {
  // A symbolic link (a project's .env pointing into a shared folder, say) is written through: its target is replaced,
  // atomically in the target's own directory, and the link stays a link.
  const path = await followLinks(linkOrPath);
  const dir = dirname(path);
  if (!existsSync(dir)) await mkdirs(dir, 0o700);
  const temp = join(dir, `.${parsePath(path).base}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(temp, content, { mode: 0o600 });
    // The umask may have narrowed the mode further, never widened it; chmod makes it exactly 0600.
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The file a path names once its symbolic links are followed (a dangling link: the file it would create). */
async function followLinks(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let isLink: boolean;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw error;
    }
    if (!isLink) return current;
    current = resolve(dirname(current), await readlink(current));
  }
  throw new Error(`cannot write ${path}: too many levels of symbolic links`);
}

/**
 * `mkdir -p`, one directory at a time. Node's own `mkdir(…, { recursive: true })` loops forever, a core busy, when
 * Linux answers ENOENT for a directory whose parent exists (anything under /proc, say); this gives that error instead.
 */
export async function mkdirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let current = resolve(dir);
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of missing.reverse()) {
    try {
      await mkdir(path, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
