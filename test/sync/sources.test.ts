import { normalizeConnection } from '../../src/airflow/model.js';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fernetDecrypt, fernetEncrypt } from '../../src/airflow/fernet.js';
import { holdsUrlPassword, maskUrlPasswords, resolveDbUrl, redactDbUrl, ASTRO_LOCAL_DB_URL } from '../../src/sync/db-url.js';
import { ASTRO_AIRFLOW2_LOCAL_FERNET_KEY, resolveFernetKey } from '../../src/sync/fernet-source.js';
import { desiredFromRemote, findRuntimeShadows, mergeSources, type DesiredObject } from '../../src/sync/sources.js';

const KEY_A = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const KEY_B = '1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=';

function project(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'envmgr-sync-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('resolveFernetKey', () => {
  it('takes the flag first, and an empty flag means plaintext', () => {
    const root = project();
    expect(resolveFernetKey({ flag: '', env: { AIRFLOW__CORE__FERNET_KEY: KEY_A }, projectRoot: root })).toEqual({ keys: null, source: '--fernet-key' });
    const r = resolveFernetKey({ flag: KEY_B, env: { AIRFLOW__CORE__FERNET_KEY: KEY_A }, projectRoot: root });
    expect(r.source).toBe('--fernet-key');
    expect(fernetDecrypt(KEY_B, fernetEncrypt(r.keys!, 'x'))).toBe('x');
  });

  it('walks environment, key file, Astro Airflow 2 project, then the project .env', () => {
    const root = project({ 'key.txt': `${KEY_B}\n`, '.astro/config.yaml': '', Dockerfile: 'FROM quay.io/astronomer/astro-runtime:12.1.0\n' });
    const dotenv = { AIRFLOW__CORE__FERNET_KEY: KEY_A };
    expect(resolveFernetKey({ env: { AIRFLOW__CORE__FERNET_KEY: KEY_A }, keyFile: join(root, 'key.txt'), projectRoot: root, dotenv }).source)
      .toBe('AIRFLOW__CORE__FERNET_KEY in the environment');
    const fromFile = resolveFernetKey({ env: {}, keyFile: join(root, 'key.txt'), projectRoot: root, dotenv });
    expect(fromFile.source).toMatch(/^dev\.fernet_key_file/);
    expect(fernetDecrypt(KEY_B, fernetEncrypt(fromFile.keys!, 'y'))).toBe('y');
    const astro = resolveFernetKey({ env: {}, projectRoot: root, dotenv });
    expect(astro.source).toMatch(/Astro/);
    expect(fernetDecrypt(ASTRO_AIRFLOW2_LOCAL_FERNET_KEY, fernetEncrypt(astro.keys!, 'z'))).toBe('z');
  });

  it('skips the Astro key for Airflow 3 runtimes and falls back to .env, then to none', () => {
    const quay3 = project({ '.astro/config.yaml': '', Dockerfile: 'FROM quay.io/astronomer/astro-runtime:3.0-2\n' });
    expect(resolveFernetKey({ env: {}, projectRoot: quay3 }).source).toBe('none');
    const root = project({ '.astro/config.yaml': '', Dockerfile: 'FROM astrocrpublic.azurecr.io/runtime:3.1-1\n' });
    expect(resolveFernetKey({ env: {}, projectRoot: root, dotenv: { AIRFLOW__CORE__FERNET_KEY: KEY_A } }).source).toBe('AIRFLOW__CORE__FERNET_KEY in the project .env');
    expect(resolveFernetKey({ env: {}, projectRoot: root })).toEqual({ keys: null, source: 'none' });
  });

  it('names the source of a malformed key', () => {
    expect(() => resolveFernetKey({ env: { AIRFLOW__CORE__FERNET_KEY: 'not-a-key' }, projectRoot: project() }))
      .toThrow(/AIRFLOW__CORE__FERNET_KEY in the environment/);
  });
});

describe('resolveDbUrl', () => {
  it('prefers flag, then environment (new name first), then config, then the Astro default', () => {
    const env = { AIRFLOW__CORE__SQL_ALCHEMY_CONN: 'postgresql://a@h1/db', AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'postgresql+psycopg2://b@h2/db' };
    expect(resolveDbUrl({ flag: 'postgres://f@h/db', env, configured: 'postgres://c@h/db' }).source).toBe('--db-url');
    expect(resolveDbUrl({ env, configured: 'x' }).url).toBe('postgresql+psycopg2://b@h2/db');
    expect(resolveDbUrl({ env: { AIRFLOW__CORE__SQL_ALCHEMY_CONN: 'postgresql://a@h1/db' } }).url).toBe('postgresql://a@h1/db');
    expect(resolveDbUrl({ env: {}, configured: 'postgres://c@h/db' }).source).toBe('dev.db_url');
    expect(resolveDbUrl({ env: {} }).url).toBe(ASTRO_LOCAL_DB_URL);
  });

  it('redacts passwords', () => {
    expect(redactDbUrl('postgresql://u:s3cret@h:5432/db')).not.toContain('s3cret');
    expect(redactDbUrl('postgresql+psycopg2://u:s3cret@h/db')).not.toContain('s3cret');
    // Unescaped '/', '?', '#', ':' and '@' in a password (SQLAlchemy reads them as part of it) leave nothing in clear.
    for (const password of ['/Xsecretpart', '?Xsecretpart', '18490/Xsecretpart', 'a#Xsecret', 'ab@Xsecret2', 'p:Xsecret', "ab'Xcd", 'ab"Xcd']) {
      const url = `postgresql://postgres:${password}@127.0.0.1:18490/airflow`;
      expect(redactDbUrl(url), url).toBe('postgresql://postgres:****@127.0.0.1:18490/airflow');
      const quote = password.includes("'") ? '"' : "'";
      expect(maskUrlPasswords(`psql ${quote}${url}${quote} -c 'select 1'`)).toBe(`psql ${quote}postgresql://postgres:****@127.0.0.1:18490/airflow${quote} -c 'select 1'`);
      expect(maskUrlPasswords(`psql ${url} -c 'select 1'`)).toBe("psql postgresql://postgres:****@127.0.0.1:18490/airflow -c 'select 1'");
      expect(holdsUrlPassword(url)).toBe(true);
    }
  });

  it('masks every URL password in a text, such as a shell command', () => {
    const command = 'PGURL=postgresql://u:s3cret@db:5432/a docker compose up -d && curl https://bot:t0ken@hooks.example/x';
    expect(maskUrlPasswords(command)).toBe('PGURL=postgresql://u:****@db:5432/a docker compose up -d && curl https://bot:****@hooks.example/x');
    expect(maskUrlPasswords('docker compose up -d')).toBe('docker compose up -d');
    expect(maskUrlPasswords('mail me@example.com; see http://example.com/a:b')).toBe('mail me@example.com; see http://example.com/a:b');
    expect(holdsUrlPassword(command)).toBe(true);
    expect(holdsUrlPassword(command)).toBe(true); // the same answer twice (no state left in the pattern)
    expect(holdsUrlPassword('postgresql://u@h/db')).toBe(false);
    expect(holdsUrlPassword('remote')).toBe(false);
  });

  it("masks libpq's keyword/value password and PGPASSWORD in a command", () => {
    expect(redactDbUrl('host=127.0.0.1 port=5432 user=postgres password=airflowpw-S3cret dbname=airflow')).toBe('host=127.0.0.1 port=5432 user=postgres password=**** dbname=airflow');
    expect(redactDbUrl("host=h password='a b c' dbname=d")).toBe('host=h password=**** dbname=d');
    expect(maskUrlPasswords('PGPASSWORD=hunter2 psql -h db -c "select 1"')).toBe('PGPASSWORD=**** psql -h db -c "select 1"');
    expect(maskUrlPasswords('cd x && PGPASSWORD="p w" psql')).toBe('cd x && PGPASSWORD=**** psql');
    expect(holdsUrlPassword('user=u password=x')).toBe(true);
    expect(maskUrlPasswords('echo mypassword=nothing')).toBe('echo mypassword=nothing');
  });

  it('masks a password given in the query, which libpq and pg take as well', () => {
    const url = 'postgresql://u@h:5432/d?sslmode=disable&password=QPW_s3cret&application_name=x';
    expect(redactDbUrl(url)).toBe('postgresql://u@h:5432/d?sslmode=disable&password=****&application_name=x');
    expect(redactDbUrl('postgresql://u@h/d?PASSWORD=a%20b')).not.toContain('a%20b');
    expect(redactDbUrl('not a url ?password=QPW_s3cret')).not.toContain('QPW_s3cret');
    expect(maskUrlPasswords(`AIRFLOW_URL='${url}' docker compose up -d`)).toBe(
      "AIRFLOW_URL='postgresql://u@h:5432/d?sslmode=disable&password=****&application_name=x' docker compose up -d",
    );
    expect(holdsUrlPassword(url)).toBe(true);
    expect(holdsUrlPassword('postgresql://u@h/d?sslmode=disable')).toBe(false);
  });
});

describe('sources', () => {
  const remote = desiredFromRemote([
    { objectKey: 'pg', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: 'd1', connection: { type: 'postgres', host: 'h', password: 'pw', extra: {} } },
    { objectKey: 'shared', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: 'd1', sourceScope: 'WORKSPACE', sourceScopeEntityId: 'w1', connection: { type: 'http', extra: { a: 'b' } } },
    { objectKey: 'v', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: 'd1', airflowVariable: { value: '', isSecret: true } },
    { objectKey: 'other', objectType: 'SOMETHING_NEW', scope: 'DEPLOYMENT', scopeEntityId: 'd1' },
  ]);

  it('maps environment objects to Airflow objects, naming their origin', () => {
    expect(remote.map((o) => [o.kind, o.key, o.origin])).toEqual([
      ['connection', 'pg', 'deployment (d1)'],
      ['connection', 'shared', 'workspace link (w1)'],
      ['variable', 'v', 'deployment (d1)'],
    ]);
    expect(remote[0]!.object).toMatchObject({ conn_id: 'pg', conn_type: 'postgres', host: 'h', password: 'pw', extra: null, port: null });
    expect(remote[2]!.object).toEqual({ key: 'v', value: '', description: null });
  });

  it('normalizes exactly as normalizeConnection does (built in one step for speed)', () => {
    const cases = [
      { type: 'http', host: '', login: '', password: '', schema: '', port: 0, extra: {} },
      { type: 'http', host: null, login: undefined, password: 'p', schema: 's', port: 8080, extra: { a: 1 } },
      { type: 'http' },
    ];
    for (const [i, c] of cases.entries()) {
      const [got] = desiredFromRemote([
        { objectKey: `k${i}`, objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: 'd1', description: i === 0 ? '' : 'about', connection: c },
      ]);
      const expected = normalizeConnection({
        conn_id: `k${i}`, conn_type: 'http', description: i === 0 ? '' : 'about',
        host: c.host ?? null, login: c.login ?? null, password: c.password ?? null, schema: c.schema ?? null, port: c.port ?? null, extra: c.extra ?? null,
      });
      expect(got!.object).toEqual(expected);
    }
  });

  it('lets the settings file win by default and lists what it hid; remote wins when preferred', () => {
    const local: DesiredObject[] = [{ kind: 'connection', key: 'pg', source: 'settings', origin: 'airflow_settings.yaml:3', object: { conn_id: 'pg', conn_type: 'sqlite' } }];
    const a = mergeSources(local, remote);
    expect(a.desired.find((o) => o.key === 'pg')!.origin).toBe('airflow_settings.yaml:3');
    expect(a.shadowed).toEqual([{ kind: 'connection', key: 'pg', hidden: 'deployment (d1)', winner: 'airflow_settings.yaml:3' }]);
    expect(a.desired).toHaveLength(3);
    const b = mergeSources(local, remote, 'remote');
    expect(b.desired.find((o) => o.key === 'pg')!.origin).toBe('deployment (d1)');
    expect(b.shadowed[0]!.hidden).toBe('airflow_settings.yaml:3');
  });

  it('warns about AIRFLOW_CONN_/AIRFLOW_VAR_ variables that Airflow reads before the database', () => {
    const shadows = findRuntimeShadows(remote, { AIRFLOW_CONN_PG: 'x://' }, { AIRFLOW_VAR_V: '1', AIRFLOW_CONN_NOPE: 'y' });
    expect(shadows).toEqual([
      { kind: 'connection', key: 'pg', variable: 'AIRFLOW_CONN_PG', where: 'the environment' },
      { kind: 'variable', key: 'v', variable: 'AIRFLOW_VAR_V', where: '.env' },
    ]);
    // An empty AIRFLOW_CONN_* is "not defined" to Airflow's secrets backends; an empty AIRFLOW_VAR_* is a variable.
    expect(findRuntimeShadows(remote, { AIRFLOW_CONN_PG: '' }, { AIRFLOW_VAR_V: '' })).toEqual([
      { kind: 'variable', key: 'v', variable: 'AIRFLOW_VAR_V', where: '.env' },
    ]);
  });
});
