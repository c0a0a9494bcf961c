import { join } from 'node:path';
import { UserError } from '../cli/errors.js';
import { readOptional, writeFileAtomic } from '../config/files.js';

interface CredentialsData {
  version: 1;
  tokens: Record<string, string>;
}

/** `$ENVMGR_HOME/credentials.json`, mode 0600: the fallback when the keychain cannot be used. */
export class CredentialsFile {
  readonly path: string;

  constructor(home: string) {
    this.path = join(home, 'credentials.json');
  }

  async get(domain: string): Promise<string | undefined> {
    return (await this.read()).tokens[domain];
  }

  async set(domain: string, token: string): Promise<void> {
    const data = await this.read();
    data.tokens[domain] = token;
    await writeFileAtomic(this.path, JSON.stringify(data, null, 2) + '\n');
  }

  async delete(domain: string): Promise<boolean> {
    const data = await this.read();
    if (!(domain in data.tokens)) return false;
    delete data.tokens[domain];
    await writeFileAtomic(this.path, JSON.stringify(data, null, 2) + '\n');
    return true;
  }

  private async read(): Promise<CredentialsData> {
    const text = await readOptional(this.path);
    if (text === undefined) return { version: 1, tokens: {} };
    try {
      const parsed = JSON.parse(text) as Partial<CredentialsData>;
      return { version: 1, tokens: { ...(parsed.tokens ?? {}) } };
    } catch {
      throw new UserError(`${this.path} is not valid JSON; delete it and run envmgr login again`);
    }
  }
}
