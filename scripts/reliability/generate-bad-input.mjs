// Writes the generated part of the bad-input corpus, fixtures/bad-input/<kind>/gen-*.{yaml,env,txt,json}.
// Hand-written cases (hand-*) sit beside them and are kept. Every case is malformed per DESIGN.md §Formats,
// airflow/FACTS.md or API.md; run: node scripts/reliability/generate-bad-input.mjs
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

export const CORPUS = join(ROOT, 'fixtures/bad-input');

const conn = (fields) => `airflow:\n  connections:\n    - ${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n      ')}\n`;

/** Settings files: each has exactly one thing wrong. */
function settings() {
  const out = {};
  const badIds = ['"has space"', '"slash/id"', '"semi;colon"', '"ünïcode"', '""', `"${'x'.repeat(201)}"`, '"quote\'s"', '"tab\\tid"', '"new\\nline"', '"star*"'];
  badIds.forEach((id, i) => (out[`conn-id-${i}`] = conn({ conn_id: id, conn_type: 'http' })));
  const badPorts = ['-1', '65536', '70000', '"abc"', '1.5', '"80 80"', '[1]', '{a: 1}', '99999999999999999999'];
  badPorts.forEach((p, i) => (out[`port-${i}`] = conn({ conn_id: 'p', conn_type: 'postgres', conn_port: p })));
  const badExtras = ['"not json"', '"[1, 2]"', '"{\\"a\\": }"', '"123"', '[a, b]', '"{\'single\': 1}"', '"null"', '"{"'];
  badExtras.forEach((e, i) => (out[`extra-${i}`] = conn({ conn_id: 'e', conn_type: 'http', conn_extra: e })));
  ['conn_hots: h', 'conn_passwd: x', 'type: http', 'conn-type: http', 'host: h'].forEach((kv, i) => (out[`unknown-key-${i}`] = conn({ conn_id: 'u', conn_type: 'http' }).replace(/\n$/, `\n      ${kv}\n`)));
  out['no-conn-type'] = conn({ conn_id: 'nt', conn_host: 'h' });
  out['empty-conn-type'] = conn({ conn_id: 'nt', conn_type: '""' });
  out['no-conn-id'] = conn({ conn_type: 'http', conn_host: 'h' });
  out['long-host'] = conn({ conn_id: 'lh', conn_type: 'http', conn_host: 'h'.repeat(501) });
  out['long-schema'] = conn({ conn_id: 'ls', conn_type: 'postgres', conn_schema: 's'.repeat(501) });
  out['uri-bad-port'] = conn({ conn_id: 'ub', conn_uri: '"postgres://h:99999/db"' });
  out['uri-three-schemes'] = conn({ conn_id: 'ub', conn_uri: '"a://b://c://d"' });
  out['uri-bad-extra'] = conn({ conn_id: 'ub', conn_uri: '"http://h/?__extra__=nope"' });
  out['connections-map'] = 'airflow:\n  connections:\n    conn_id: x\n    conn_type: http\n';
  out['connections-string'] = 'airflow:\n  connections: "x"\n';
  out['airflow-list'] = 'airflow:\n  - connections\n';
  out['top-list'] = '- airflow\n- connections\n';
  out['unknown-top'] = 'airflow:\n  conections: []\n';
  out['unknown-root'] = 'airflwo:\n  connections: []\n';
  out['yaml-unclosed-quote'] = 'airflow:\n  connections:\n    - conn_id: "abc\n      conn_type: http\n';
  out['yaml-bad-indent'] = 'airflow:\n  connections:\n    - conn_id: a\n   conn_type: http\n';
  out['yaml-tab'] = 'airflow:\n\tconnections: []\n';
  out['yaml-unclosed-flow'] = 'airflow: {connections: [\n';
  out['pool-slot-text'] = 'airflow:\n  pools:\n    - pool_name: p\n      pool_slot: many\n';
  out['pool-no-name'] = 'airflow:\n  pools:\n    - pool_slot: 3\n';
  out['pool-unknown-key'] = 'airflow:\n  pools:\n    - pool_name: p\n      pool_slot: 3\n      slots: 4\n';
  out['pool-slot-float'] = 'airflow:\n  pools:\n    - pool_name: p\n      pool_slot: 2.5\n';
  out['var-no-name'] = 'airflow:\n  variables:\n    - variable_value: v\n';
  out['var-bad-name'] = 'airflow:\n  variables:\n    - variable_name: "bad name"\n      variable_value: v\n';
  out['var-unknown-key'] = 'airflow:\n  variables:\n    - variable_name: v\n      value: x\n';
  out['var-long-name'] = `airflow:\n  variables:\n    - variable_name: ${'v'.repeat(251)}\n      variable_value: x\n`;
  out['variables-map'] = 'airflow:\n  variables:\n    variable_name: v\n';
  out['repeated-section'] = 'airflow:\n  connections:\n    - conn_id: a\n      conn_type: http\n  connections:\n    - conn_id: b\n      conn_type: http\n';
  out['repeated-field'] = conn({ conn_id: 'r', conn_type: 'http', conn_host: 'h' }).replace(/\n$/, '\n      conn_type: ftp\n');
  out['repeated-extra-key'] = 'airflow:\n  connections:\n    - conn_id: x\n      conn_type: http\n      conn_extra: {a: 1, a: 2}\n';
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [`${k}.yaml`, v]));
}

/** .env files: each has one malformed line among good ones. */
function env() {
  const good = 'AIRFLOW_VAR_GOOD=fine\nAIRFLOW_CONN_GOOD_HTTP=http://example.com\n';
  const bad = {
    'uri-port': 'AIRFLOW_CONN_X=postgres://h:99999/db',
    'uri-port-text': 'AIRFLOW_CONN_X=postgres://h:abc/db',
    'uri-schemes': 'AIRFLOW_CONN_X=a://b://c://d',
    'uri-ipv6': 'AIRFLOW_CONN_X=postgres://[::1/db',
    'uri-extra': 'AIRFLOW_CONN_X=http://h/?__extra__=%7Bbroken',
    'json-broken': 'AIRFLOW_CONN_X={"conn_type": }',
    'json-unknown-kwarg': 'AIRFLOW_CONN_X={"conn_type": "http", "hots": "h"}',
    'json-port-text': 'AIRFLOW_CONN_X={"conn_type": "http", "port": "abc"}',
    'json-port-float-text': 'AIRFLOW_CONN_X={"conn_type": "http", "port": "1.5"}',
    'json-list': 'AIRFLOW_CONN_X=[1, 2]',
    'json-conn-id': 'AIRFLOW_CONN_X={"conn_type": "http", "conn_id": "y"}',
    'json-type-number': 'AIRFLOW_CONN_X={"conn_type": 5}',
    'json-extra-list': 'AIRFLOW_CONN_X={"conn_type": "http", "extra": [1]}',
    'json-no-type': 'AIRFLOW_CONN_X={"host": "h"}',
    'json-port-range': 'AIRFLOW_CONN_X={"conn_type": "http", "port": 70000}',
    'unterminated-double': 'AIRFLOW_VAR_X="abc',
    'unterminated-single': "AIRFLOW_VAR_X='abc",
    'no-equals': 'AIRFLOW_VAR_X',
    'duplicate': 'AIRFLOW_VAR_GOOD=again',
    'space-in-name': 'AIRFLOW VAR_X=1',
    'bad-conn-id': 'AIRFLOW_CONN_BAD$ID=http://h',
    // (An empty AIRFLOW_CONN_X= is not bad input: Airflow takes it for "not set"; the import skips it with a warning.)
    'scheme-only': 'AIRFLOW_CONN_X=://',
    'long-host': `AIRFLOW_CONN_X=http://${'h'.repeat(501)}`,
  };
  const out = {};
  for (const [name, line] of Object.entries(bad)) {
    out[`${name}-first.env`] = `${line}\n${good}`;
    out[`${name}-last.env`] = `${good}${line}\n`;
  }
  return out;
}

/** URIs Airflow refuses or envmgr's validation rejects (FACTS.md §3, DESIGN.md §Formats). */
function uris() {
  const out = [];
  for (const scheme of ['postgres', 'mysql', 'http', 'google-cloud-platform', 'aws']) {
    out.push(`${scheme}://user:pw@host:99999/db`, `${scheme}://host:port/db`, `${scheme}://host:-5/db`, `${scheme}://host:1.5/db`);
    out.push(`${scheme}://[::1/db`, `${scheme}://[zz::1]/db`, `${scheme}://a://b://c`, `${scheme}://host/db?__extra__=not-json`);
    out.push(`${scheme}://${'h'.repeat(501)}/db`, `${scheme}://h/${'s'.repeat(501)}`);
  }
  out.push('://host', '', '   ', 'postgres://h:65536', 'postgres://h:1e3/db');
  return Object.fromEntries(out.map((u, i) => [`uri-${String(i).padStart(3, '0')}.txt`, u]));
}

/** API payloads: {method, path (relative to the organization; {ws} {dep} replaced), body | raw, contentType?}. */
function api() {
  const create = (patch) => ({ objectKey: 'k1', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: '{ws}', connection: { type: 'http' }, ...patch });
  const cases = {
    'missing-key': create({ objectKey: undefined }),
    'key-space': create({ objectKey: 'has space' }),
    'key-long': create({ objectKey: 'k'.repeat(201) }),
    'key-number': create({ objectKey: 5 }),
    'type-bad': create({ objectType: 'SECRET' }),
    'scope-bad': create({ scope: 'ORGANIZATION' }),
    'scope-entity-unknown': create({ scopeEntityId: 'nope' }),
    'scope-entity-missing': create({ scopeEntityId: undefined }),
    'connection-missing': create({ connection: undefined }),
    'connection-no-type': create({ connection: { host: 'h' } }),
    'connection-port-text': create({ connection: { type: 'http', port: 'abc' } }),
    'connection-port-range': create({ connection: { type: 'http', port: 70000 } }),
    'connection-port-negative': create({ connection: { type: 'http', port: -1 } }),
    'connection-extra-list': create({ connection: { type: 'http', extra: [1, 2] } }),
    'connection-extra-string': create({ connection: { type: 'http', extra: '{"a":1}' } }),
    'connection-host-long': create({ connection: { type: 'http', host: 'h'.repeat(501) } }),
    'connection-unknown-field': create({ connection: { type: 'http', hots: 'h' } }),
    'variable-on-connection': create({ airflowVariable: { value: 'v', isSecret: false } }),
    'variable-missing-value': create({ objectType: 'AIRFLOW_VARIABLE', connection: undefined, airflowVariable: { isSecret: true } }),
    'variable-value-number': create({ objectType: 'AIRFLOW_VARIABLE', connection: undefined, airflowVariable: { value: 5 } }),
    'links-bad-scope': create({ links: [{ scope: 'WORKSPACE', scopeEntityId: '{ws}' }] }),
    'links-unknown-deployment': create({ links: [{ scope: 'DEPLOYMENT', scopeEntityId: 'nope' }] }),
    'links-not-list': create({ links: { scope: 'DEPLOYMENT' } }),
    'auto-link-text': create({ autoLinkDeployments: 'yes' }),
    'auto-link-on-deployment': create({ scope: 'DEPLOYMENT', scopeEntityId: '{dep}', autoLinkDeployments: true }),
    'unknown-top-field': create({ colour: 'blue' }),
    'body-array': [create({})],
    'body-string': 'a string',
    'body-null': null,
  };
  const out = {};
  for (const [name, body] of Object.entries(cases)) out[`create-${name}.json`] = { method: 'POST', path: '/environment-objects', body };
  out['create-invalid-json.json'] = { method: 'POST', path: '/environment-objects', raw: '{"objectKey": ', contentType: 'application/json' };
  out['create-text-body.json'] = { method: 'POST', path: '/environment-objects', raw: 'objectKey=k', contentType: 'text/plain' };
  out['create-form-body.json'] = { method: 'POST', path: '/environment-objects', raw: 'objectKey=k', contentType: 'application/x-www-form-urlencoded' };
  const lists = {
    'both-scopes': 'workspaceId={ws}&deploymentId={dep}', 'no-scope': '', 'limit-zero': 'workspaceId={ws}&limit=0',
    'limit-huge': 'workspaceId={ws}&limit=5000', 'offset-negative': 'workspaceId={ws}&offset=-1', 'limit-text': 'workspaceId={ws}&limit=ten',
    'sort-bad': 'workspaceId={ws}&sorts=password:asc', 'sort-direction': 'workspaceId={ws}&sorts=objectKey:up', 'type-bad': 'workspaceId={ws}&objectType=SECRET',
    'show-secrets-text': 'workspaceId={ws}&showSecrets=maybe',
  };
  for (const [name, q] of Object.entries(lists)) out[`list-${name}.json`] = { method: 'GET', path: `/environment-objects?${q}` };
  out['update-unknown-id.json'] = { method: 'POST', path: '/environment-objects/doesnotexist', body: { description: 'x' } };
  out['update-key.json'] = { method: 'POST', path: '/environment-objects/doesnotexist', body: { objectKey: 'renamed' } };
  out['delete-unknown-id.json'] = { method: 'DELETE', path: '/environment-objects/doesnotexist' };
  out['exclude-bad-scope.json'] = { method: 'POST', path: '/environment-objects/doesnotexist/exclude-linking', body: { scope: 'WORKSPACE', scopeEntityId: '{ws}' } };
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, `${JSON.stringify(v, null, 1)}\n`]));
}

/** Command lines: {args, exit}; {db} is a metadata database, {dep} a deployment, {key} a valid Fernet key. */
function cli() {
  const target = ['--db-url', '{db}', '--fernet-key', '{key}', '--wait', '5s'];
  const cases = {
    'unknown-command': [['bogus'], 2],
    'unknown-subcommand': [['dev', 'stop'], 2],
    'unknown-option': [['dev', 'start', '--bogus'], 2],
    'missing-option-value': [['dev', 'start', '--db-url'], 2],
    'both-scopes': [['dev', 'start', '-w', 'a', '-d', 'b', ...target], 2],
    'bad-wait': [['dev', 'start', '--wait', 'soon', ...target.slice(0, 4)], 2],
    'bad-serialization': [['object', 'export', '--serialization', 'xml', ...target], 2],
    'bad-on-conflict': [['object', 'import', '--on-conflict', 'maybe', ...target], 2],
    'config-unknown-key': [['config', 'set', 'no.such.key', 'x'], 2],
    'config-bad-value': [['config', 'set', 'dev.prefer', 'middle'], 2],
    'config-bad-bool': [['config', 'set', 'disable_env_objects', 'perhaps'], 2],
    'config-get-missing-arg': [['config', 'get'], 2],
    'completion-bad-shell': [['completion', 'powershell'], 2],
    'extra-argument': [['auth', 'status', 'extra'], 2],
    'bad-fernet-key': [['object', 'import', '--db-url', '{db}', '--fernet-key', 'not-a-key', '--wait', '5s'], 1],
    'short-fernet-key': [['object', 'import', '--db-url', '{db}', '--fernet-key', 'YWJj', '--wait', '5s'], 1],
    'wrong-fernet-key': [['object', 'import', '--db-url', '{db}', '--fernet-key', 'G84VGRVtqGB0kvOsZB72ye0ATDq-635Ss8x4AnXC_jg=', '--wait', '5s', '-s', '{valid}'], 1],
    'bad-db-url': [['object', 'import', '--db-url', 'not a url', '--fernet-key', '{key}', '--wait', '1s'], 1],
    'db-url-mysql': [['object', 'import', '--db-url', 'mysql://u@127.0.0.1/x', '--fernet-key', '{key}', '--wait', '1s'], 1],
    'db-unreachable': [['object', 'import', '--db-url', 'postgresql://u:p@127.0.0.1:1/x', '--fernet-key', '{key}', '--wait', '1s'], 1],
    'settings-missing': [['object', 'import', '-s', 'does-not-exist.yaml', ...target], 1],
    // Node 20 reads --env-file anywhere in its argv; the bin's `node --` shebang keeps it for envmgr.
    'env-file-missing': [['object', 'import', '--env-file', 'does-not-exist.env', ...target], 1],
    'settings-is-dir': [['object', 'import', '-s', '.', ...target], 1],
    'dev-start-not-logged-in': [['dev', 'start', '-d', 'dep1', ...target], 4],
    'workspace-list-not-logged-in': [['workspace', 'list'], 4],
    'login-bad-url': [['login', 'http://[::1', '--with-token'], 2],
    'login-empty-token': [['login', 'http://127.0.0.1:1', '--with-token'], 2],
    'dry-run-bad-settings': [['dev', 'start', '--dry-run', '-s', '{bad}', ...target], 1],
    'env-connection-create-no-type': [['env', 'connection', 'create'], 2],
    'deployment-list-bad-flag': [['deployment', 'list', '--all', '--nope'], 2],
  };
  return Object.fromEntries(Object.entries(cases).map(([name, [args, exit, known]]) => [`${name}.json`, `${JSON.stringify({ args, exit, ...(known ? { known } : {}) })}\n`]));
}

export async function generate() {
  const kinds = { settings: settings(), env: env(), uri: uris(), api: api(), cli: cli() };
  let count = 0;
  for (const [kind, files] of Object.entries(kinds)) {
    const dir = join(CORPUS, kind);
    await mkdir(dir, { recursive: true });
    for (const f of await readdir(dir)) if (f.startsWith('gen-')) await rm(join(dir, f));
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(dir, `gen-${name}`), text);
      count++;
    }
  }
  return count;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`wrote ${await generate()} generated cases under ${CORPUS}\n`);
}
