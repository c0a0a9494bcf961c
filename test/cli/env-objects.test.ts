import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { baseEnv, runCli, tempHome } from './support/cli.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';

let em: TestEnvironmentManager;
beforeAll(async () => {
  em = await startTestEnvironmentManager();
});
afterAll(async () => {
  await em?.close();
});

interface Obj {
  id?: string;
  objectKey: string;
  scope: string;
  sourceScope?: string;
  connection?: Record<string, unknown> & { extra?: Record<string, unknown> };
  airflowVariable?: { value: string; isSecret: boolean };
  links?: { scopeEntityId: string; connectionOverrides?: Record<string, unknown> }[];
  excludeLinks?: { scopeEntityId: string }[];
  autoLinkDeployments?: boolean;
}

async function loggedIn(workspace: string) {
  const home = await tempHome();
  const env = baseEnv(home);
  const login = await runCli(['login', em.url, '--with-token', '--workspace-id', workspace], { env, stdin: em.token });
  expect(login.code).toBe(0);
  const cli = async (args: string[], stdin?: string) => runCli(args, { env, cwd: home, stdin });
  const json = async <T>(args: string[]): Promise<T> => {
    const result = await cli([...args, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  return { cli, json, home };
}

describe('env connection / airflow-variable against a real server', () => {
  it('creates at both scopes, links with overrides, auto-links, excludes, updates keeping a masked secret, deletes', async () => {
    const { cli, json } = await loggedIn('alpha');
    const { alpha1, alpha2 } = em.deployments;

    // Workspace connection, auto-linked to every deployment, password from stdin.
    const created = await cli(['env', 'connection', 'create', 'warehouse', '--type', 'postgres', '--host', 'wh.internal', '--login', 'etl', '--port', '5432', '--extra', '{"sslmode":"require"}', '--password-stdin', '--auto-link'], 'base-pass-Q1');
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[a-z0-9]{20,}$/);

    // Deployment-scope connection on alpha2.
    expect((await cli(['env', 'connection', 'create', 'local_only', '--type', 'http', '--host', 'svc', '-d', alpha2])).code).toBe(0);

    // Masked by default in every format.
    const listed = await json<Obj[]>(['env', 'connection', 'list']);
    expect(listed.map((o) => o.objectKey)).toEqual(['warehouse']);
    expect(listed[0]!.connection!.password).toBe('****');
    const table = await cli(['env', 'connection', 'list']);
    expect(table.stdout).not.toContain('base-pass-Q1');
    expect(table.stdout.split('\t')[0]).toBe('warehouse');

    // Link to alpha1 with an override of host and password.
    const link = await cli(['env', 'connection', 'link', 'create', 'warehouse', '-d', alpha1, '--host', 'wh-prod.internal', '--password-stdin'], 'prod-pass-Q2');
    expect(link.code, link.stderr).toBe(0);

    const resolved1 = await json<Obj[]>(['env', 'connection', 'list', '-d', alpha1, '--resolve-linked', '--show-secrets']);
    const wh1 = resolved1.find((o) => o.objectKey === 'warehouse')!;
    expect(wh1).toMatchObject({ scope: 'DEPLOYMENT', sourceScope: 'WORKSPACE' });
    expect(wh1.connection).toMatchObject({ host: 'wh-prod.internal', password: 'prod-pass-Q2', login: 'etl', port: 5432 });

    const resolved2 = await json<Obj[]>(['env', 'connection', 'list', '-d', alpha2, '--resolve-linked', '--show-secrets']);
    expect(resolved2.map((o) => o.objectKey).sort()).toEqual(['local_only', 'warehouse']);
    expect(resolved2.find((o) => o.objectKey === 'warehouse')!.connection).toMatchObject({ host: 'wh.internal', password: 'base-pass-Q1' });

    // Exclude alpha2 from the auto-link: it no longer gets the workspace connection.
    expect((await cli(['env', 'connection', 'update', 'warehouse', '--exclude', alpha2])).code).toBe(0);
    const afterExclude = await json<Obj[]>(['env', 'connection', 'list', '-d', alpha2, '--resolve-linked']);
    expect(afterExclude.map((o) => o.objectKey)).toEqual(['local_only']);

    // Update a plain field: the password and the link override's password survive, though the CLI only saw masks.
    const updated = await cli(['env', 'connection', 'update', 'warehouse', '--schema', 'analytics', '--extra', '{"connect_timeout":"10"}']);
    expect(updated.code, updated.stderr).toBe(0);
    const full = await json<Obj>(['env', 'connection', 'get', 'warehouse', '--show-secrets']);
    expect(full.connection).toMatchObject({ schema: 'analytics', password: 'base-pass-Q1', host: 'wh.internal' });
    expect(full.connection!.extra).toEqual({ sslmode: 'require', connect_timeout: '10' });
    expect(full.links).toEqual([{ scope: 'DEPLOYMENT', scopeEntityId: alpha1, connectionOverrides: { host: 'wh-prod.internal', password: 'prod-pass-Q2' } }]);
    expect(full.excludeLinks?.map((e) => e.scopeEntityId)).toEqual([alpha2]);
    expect(full.autoLinkDeployments).toBe(true);

    // --include undoes the exclusion: alpha2 gets the auto-linked connection again.
    expect((await cli(['env', 'connection', 'update', 'warehouse', '--include', alpha2])).code).toBe(0);
    const afterInclude = await json<Obj[]>(['env', 'connection', 'list', '-d', alpha2, '--resolve-linked']);
    expect(afterInclude.map((o) => o.objectKey).sort()).toEqual(['local_only', 'warehouse']);
    expect((await json<Obj>(['env', 'connection', 'get', 'warehouse'])).excludeLinks).toEqual([]);

    // Get by id, as YAML.
    const yaml = await cli(['env', 'connection', 'get', id, '--format', 'yaml']);
    expect(parseYaml(yaml.stdout)).toMatchObject({ id, objectKey: 'warehouse', connection: { password: '****' } });

    // Remove the link; turn auto-link off; alpha1 then gets nothing from the workspace.
    expect((await cli(['env', 'connection', 'link', 'delete', 'warehouse', '-d', alpha1])).code).toBe(0);
    expect((await cli(['env', 'connection', 'update', 'warehouse', '--no-auto-link'])).code).toBe(0);
    expect(await json<Obj[]>(['env', 'connection', 'list', '-d', alpha1, '--resolve-linked'])).toEqual([]);

    // Delete needs --yes without a terminal, and says so.
    const refused = await cli(['env', 'connection', 'delete', 'warehouse']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pass --yes/);
    expect((await cli(['env', 'connection', 'delete', 'warehouse', '--yes'])).code).toBe(0);
    expect((await cli(['env', 'connection', 'delete', 'local_only', '-d', alpha2, '--yes'])).code).toBe(0);
    const empty = await cli(['env', 'connection', 'list', '--json']);
    expect(empty.stdout).toBe('[]\n');
    const emptyHuman = await cli(['env', 'connection', 'list']);
    expect(emptyHuman.stdout).toBe('');
    expect(emptyHuman.stderr).toMatch(/No connections in workspace/);
    const missing = await cli(['env', 'connection', 'get', 'warehouse']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no connection "warehouse".*envmgr env connection list/);
  });

  it('manages airflow variables: secret value from stdin, masked, linked with an override, updated', async () => {
    const { cli, json } = await loggedIn('beta');
    const { beta1 } = em.deployments;
    const created = await cli(['env', 'airflow-variable', 'create', 'api_key', '--secret', '--value-stdin', '--link', beta1], 'var-secret-Q3');
    expect(created.code, created.stderr).toBe(0);
    expect((await cli(['env', 'airflow-variable', 'create', 'region', '--value', 'eu-west-1'])).code).toBe(0);

    const listed = await json<Obj[]>(['env', 'airflow-variable', 'list']);
    expect(listed.map((o) => [o.objectKey, o.airflowVariable])).toEqual([
      ['api_key', { value: '****', isSecret: true }],
      ['region', { value: 'eu-west-1', isSecret: false }],
    ]);
    const table = await cli(['env', 'airflow-variable', 'list']);
    expect(table.stdout).not.toContain('var-secret-Q3');
    expect(table.stdout).toContain('eu-west-1');

    expect((await cli(['env', 'airflow-variable', 'link', 'create', 'region', '-d', beta1, '--value', 'us-east-1'])).code).toBe(0);
    const resolved = await json<Obj[]>(['env', 'airflow-variable', 'list', '-d', beta1, '--resolve-linked', '--show-secrets']);
    expect(Object.fromEntries(resolved.map((o) => [o.objectKey, o.airflowVariable!.value]))).toEqual({ api_key: 'var-secret-Q3', region: 'us-east-1' });
    // Without a deployment there is nothing to resolve: said, not silently ignored.
    const noDeployment = await cli(['env', 'airflow-variable', 'list', '--resolve-linked']);
    expect(noDeployment.code).toBe(2);
    expect(noDeployment.stderr).toMatch(/--resolve-linked resolves what a deployment gets: pass --deployment-id/);

    // A description change leaves the secret value alone.
    expect((await cli(['env', 'airflow-variable', 'update', 'api_key', '--description', 'for the API'])).code).toBe(0);
    const kept = await json<Obj>(['env', 'airflow-variable', 'get', 'api_key', '--show-secrets']);
    expect(kept.airflowVariable).toEqual({ value: 'var-secret-Q3', isSecret: true });
    // --secret / --no-secret alone change only the flag: the server keeps the value it holds.
    const same = await cli(['env', 'airflow-variable', 'update', 'api_key', '--secret']);
    expect(same.code, same.stderr).toBe(0);
    expect((await json<Obj>(['env', 'airflow-variable', 'get', 'api_key', '--show-secrets'])).airflowVariable).toEqual({ value: 'var-secret-Q3', isSecret: true });
    const plain = await cli(['env', 'airflow-variable', 'update', 'api_key', '--no-secret']);
    expect(plain.code, plain.stderr).toBe(0);
    expect((await json<Obj>(['env', 'airflow-variable', 'get', 'api_key'])).airflowVariable).toEqual({ value: 'var-secret-Q3', isSecret: false });
    expect((await cli(['env', 'airflow-variable', 'update', 'api_key', '--secret'])).code).toBe(0);
    expect((await json<Obj>(['env', 'airflow-variable', 'get', 'api_key'])).airflowVariable).toEqual({ value: '****', isSecret: true });
    expect((await cli(['env', 'airflow-variable', 'update', 'region', '--value-stdin'], 'ap-south-1')).code).toBe(0);
    expect((await json<Obj>(['env', 'airflow-variable', 'get', 'region'])).airflowVariable!.value).toBe('ap-south-1');

    const noValue = await cli(['env', 'airflow-variable', 'create', 'third']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/pass --value-stdin/);
  });

  it('takes a connection extra from a file or stdin, so that secret members stay off the command line', async () => {
    const { cli, json, home } = await loggedIn('alpha');
    await writeFile(join(home, 'sa.json'), JSON.stringify({ project: 'p1', keyfile_dict: '{"private_key":"PK-SECRET-1"}' }));
    const created = await cli(['env', 'connection', 'create', 'gcp_file', '--type', 'google_cloud_platform', '--extra-file', 'sa.json']);
    expect(created.code, created.stderr).toBe(0);
    expect((await json<Obj>(['env', 'connection', 'get', 'gcp_file'])).connection!.extra).toEqual({ project: 'p1', keyfile_dict: '****' });
    const full = await json<Obj>(['env', 'connection', 'get', 'gcp_file', '--show-secrets']);
    expect(full.connection!.extra).toEqual({ project: 'p1', keyfile_dict: '{"private_key":"PK-SECRET-1"}' });

    // From stdin on an update: its members replace those stored one by one; the secret not given is kept.
    const updated = await cli(['env', 'connection', 'update', 'gcp_file', '--extra-file', '-'], '{"project": "p2"}\n');
    expect(updated.code, updated.stderr).toBe(0);
    const after = await json<Obj>(['env', 'connection', 'get', 'gcp_file', '--show-secrets']);
    expect(after.connection!.extra).toEqual({ project: 'p2', keyfile_dict: '{"private_key":"PK-SECRET-1"}' });

    const missing = await cli(['env', 'connection', 'create', 'gcp_2', '--type', 'http', '--extra-file', 'nope.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot read --extra-file nope\.json: no such file$/m);
    await writeFile(join(home, 'bad.json'), '[1, 2]');
    const notObject = await cli(['env', 'connection', 'create', 'gcp_2', '--type', 'http', '--extra-file', 'bad.json']);
    expect(notObject.code).toBe(1);
    expect(notObject.stderr).toMatch(/--extra-file bad\.json must be a JSON object/);
    const both = await cli(['env', 'connection', 'create', 'gcp_2', '--type', 'http', '--extra', '{}', '--extra-file', 'sa.json']);
    expect(both.code).toBe(2);
    const twoStdins = await cli(['env', 'connection', 'create', 'gcp_2', '--type', 'http', '--password-stdin', '--extra-file', '-'], 'x');
    expect(twoStdins.code).toBe(2);
    expect(twoStdins.stderr).toMatch(/both read stdin/);
    expect((await json<Obj[]>(['env', 'connection', 'list'])).map((o) => o.objectKey)).not.toContain('gcp_2');
  });

  it('takes deployment and workspace names wherever it takes their ids (-d, -w, --link, --exclude, --include)', async () => {
    const { cli, json } = await loggedIn('beta');
    const { alpha1, alpha2 } = em.deployments;
    // A workspace connection of alpha (not the current workspace), linked by name, one deployment excluded by name.
    const created = await cli(['env', 'connection', 'create', 'named_links', '--type', 'http', '--host', 'h', '-w', 'alpha', '--auto-link', '--exclude', 'alpha-two']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`workspace "alpha" is ${em.workspaces.alpha}`);
    expect(created.stderr).toContain(`deployment "alpha-two" is ${alpha2}`);
    expect(created.stderr).toContain(`Created connection named_links in workspace alpha (${em.workspaces.alpha}).`);
    // Messages name it as it was given; the hint repeats the flag.
    const missing = await cli(['env', 'connection', 'get', 'zzz', '-d', 'alpha-one']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no connection "zzz" in deployment alpha-one (${alpha1}); list them with envmgr env connection list -d alpha-one`);
    const mine = async () => (await json<Obj[]>(['env', 'connection', 'list', '-w', 'alpha'])).find((o) => o.objectKey === 'named_links');
    expect(await mine()).toMatchObject({ objectKey: 'named_links', autoLinkDeployments: true, excludeLinks: [{ scopeEntityId: alpha2 }] });
    // Linked to alpha-one by name with an override, seen from that deployment by name.
    const linked = await cli(['env', 'connection', 'link', 'create', 'named_links', '-w', 'alpha', '-d', 'alpha-one', '--host', 'for-one']);
    expect(linked.code).toBe(0);
    expect(linked.stderr).toContain(`Linked connection named_links to deployment alpha-one (${alpha1}) overriding host.`);
    const resolved = await json<Obj[]>(['env', 'connection', 'list', '-d', 'alpha-one', '--resolve-linked']);
    expect(resolved.find((o) => o.objectKey === 'named_links')?.connection?.host).toBe('for-one');
    const byId = await json<Obj[]>(['env', 'connection', 'list', '-d', alpha1, '--resolve-linked']);
    expect(byId).toEqual(resolved);
    // --include undoes the exclusion by name; the link goes by name.
    expect((await cli(['env', 'connection', 'update', 'named_links', '-w', 'alpha', '--include', 'alpha-two'])).code).toBe(0);
    expect((await mine())!.excludeLinks ?? []).toEqual([]);
    expect((await cli(['env', 'connection', 'link', 'delete', 'named_links', '-w', 'alpha', '-d', 'alpha-one'])).code).toBe(0);
    expect((await mine())!.links ?? []).toEqual([]);
    // No link to remove, but auto-linked: the command that keeps it away, as given.
    const noLink = await cli(['env', 'connection', 'link', 'delete', 'named_links', '-w', 'alpha', '-d', 'alpha-one']);
    expect(noLink.code).toBe(1);
    expect(noLink.stderr).toContain(`has no link to deployment alpha-one (${alpha1}); it reaches every deployment through auto-link: use envmgr env connection update named_links -w alpha --exclude alpha-one`);
    // A name that names nothing: what to pass, and nothing is created.
    const unknown = await cli(['env', 'connection', 'create', 'never', '--type', 'http', '-d', 'no-such-deployment']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error: no deployment "no-such-deployment"; available: .*alpha-one.*; pass its id or name \(envmgr deployment list --all shows them\)/);
    const badLink = await cli(['env', 'connection', 'create', 'never', '--type', 'http', '-w', 'alpha', '--link', 'alpha-one,nope']);
    expect(badLink.code).toBe(1);
    expect(badLink.stderr).toMatch(/no deployment "nope"/);
    expect((await json<Obj[]>(['env', 'connection', 'list', '-w', 'alpha'])).map((o) => o.objectKey)).not.toContain('never');
    expect((await cli(['env', 'connection', 'delete', 'named_links', '-w', 'alpha', '--yes'])).code).toBe(0);
  });

  it("refuses a blank -d / -w, takes a workspace name from project.workspace, and resolves --link names in the object's workspace", async () => {
    const { cli, json, home } = await loggedIn('beta');
    // A blank value (an unset variable in a script) is a usage error, never "not given": nothing is created.
    for (const args of [
      ['env', 'connection', 'create', 'blank', '--type', 'http', '-d', ''],
      ['env', 'connection', 'list', '-w', ' '],
      ['env', 'airflow-variable', 'list', '-d', ''],
      ['env', 'connection', 'link', 'create', 'blank', '-d', ''],
      ['dev', 'start', '-d', ''],
      ['deployment', 'list', '-w', ''],
      ['login', em.url, '--with-token', '--workspace-id', ''],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/--(deployment|workspace)-id needs an id or a name, not a blank value/);
    }
    // A blank --link or --exclude (an unset variable) too, rather than quietly left out.
    const blankLink = await cli(['env', 'connection', 'create', 'blank', '--type', 'http', '--link', '']);
    expect(blankLink.code).toBe(2);
    expect(blankLink.stderr).toContain("error: option '--link <deployment>' argument '' is invalid. It needs a deployment id or name, not a blank value.");
    expect((await cli(['env', 'connection', 'update', 'blank', '--exclude', ' '])).code).toBe(2);
    const blankSwitch = await cli(['workspace', 'switch', '']);
    expect(blankSwitch.code).toBe(2);
    expect(blankSwitch.stderr).toMatch(/the workspace argument needs an id or a name, not a blank value/);
    const unknownSwitch = await cli(['workspace', 'switch', 'nope']);
    expect(unknownSwitch.stderr).toMatch(/no workspace "nope"; available: .*; pass its id or name \(envmgr workspace list shows them\)/);
    expect((await json<Obj[]>(['env', 'connection', 'list'])).map((o) => o.objectKey)).not.toContain('blank');

    // project.workspace holding a name works for env commands as for dev start and deployment list.
    const project = join(home, 'project');
    await mkdir(project, { recursive: true });
    const inProject = async (args: string[]) => runCli(args, { env: baseEnv(home), cwd: project });
    expect((await inProject(['config', 'set', 'project.workspace', 'alpha'])).code).toBe(0);
    const made = await inProject(['env', 'connection', 'create', 'in_alpha', '--type', 'http', '--link', 'alpha-one']);
    expect(made.code, made.stderr).toBe(0);
    const inAlpha = (await json<Obj[]>(['env', 'connection', 'list', '-w', em.workspaces.alpha])).find((o) => o.objectKey === 'in_alpha');
    expect(inAlpha).toMatchObject({ scope: 'WORKSPACE', links: [{ scopeEntityId: em.deployments.alpha1 }] });
    // A deployment of another workspace: said plainly, before the server is asked.
    const foreign = await inProject(['env', 'connection', 'link', 'create', 'in_alpha', '-d', 'beta-one']);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toMatch(/error: deployment "beta-one" is in workspace "beta", not this object's \(\S+\): an object links only to deployments of its own workspace/);
    expect((await inProject(['env', 'connection', 'update', 'in_alpha', '--exclude', 'alpha-two', '--include', 'alpha-two'])).stderr).toMatch(/--exclude and --include both name alpha-two; pass one/);
    // An exclusion on an object that is not auto-linked would do nothing: refused as create refuses it.
    const pointless = await inProject(['env', 'connection', 'update', 'in_alpha', '--exclude', 'alpha-two']);
    expect(pointless.code).toBe(1);
    expect(pointless.stderr).toContain('--exclude only makes sense for an auto-linked object, and connection in_alpha is not (add --auto-link; to undo an explicit link use envmgr env connection link delete in_alpha -d <deployment>)');
    expect((await inProject(['env', 'connection', 'update', 'in_alpha', '--auto-link', '--exclude', 'alpha-two'])).code).toBe(0);
    // Excluding a deployment it is linked to explicitly: what to run instead, and nothing changes.
    // By name and by id, one deployment both ways is refused too.
    const twice = await inProject(['env', 'connection', 'update', 'in_alpha', '--exclude', 'alpha-two', '--include', em.deployments.alpha2]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/--exclude and --include both name alpha-two; pass one/);
    // Turning auto-link off while excluding: the exclusion would do nothing.
    const off = await inProject(['env', 'connection', 'update', 'in_alpha', '--no-auto-link', '--exclude', 'alpha-two']);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('and connection in_alpha would not be (add --auto-link');
    const explicit = await inProject(['env', 'connection', 'update', 'in_alpha', '--exclude', 'alpha-one']);
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toContain(`connection in_alpha is linked to deployment alpha-one (${em.deployments.alpha1}) explicitly, and an explicit link wins over an exclusion: remove it with envmgr env connection link delete in_alpha -d alpha-one`);
    // Named by -w (not the current workspace): the command to run says -w too, and works.
    const viaW = await cli(['env', 'connection', 'update', 'in_alpha', '-w', 'alpha', '--exclude', 'alpha-one']);
    expect(viaW.stderr).toContain('remove it with envmgr env connection link delete in_alpha -w alpha -d alpha-one');
    expect((await cli(['env', 'connection', 'link', 'delete', 'in_alpha', '-w', 'alpha', '-d', 'alpha-one'])).code).toBe(0);
    // A name project.workspace holds that names nothing: where it is set.
    expect((await inProject(['config', 'set', 'project.workspace', 'no-such-ws'])).code).toBe(0);
    const unknown = await inProject(['env', 'connection', 'list']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no workspace "no-such-ws".*\(from project\.workspace in .*config\.yaml/);
    expect((await cli(['env', 'connection', 'delete', 'in_alpha', '-w', 'alpha', '--yes'])).code).toBe(0);
  });

  it('validates flags before calling the server', async () => {
    const { cli } = await loggedIn('alpha');
    const both = await cli(['env', 'connection', 'list', '-w', em.workspaces.alpha, '-d', em.deployments.alpha1]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--workspace-id and --deployment-id are mutually exclusive/);
    expect((await cli(['env', 'connection', 'create', 'x', '--type', 'http', '--port', '70000'])).stderr).toMatch(/invalid --port "70000"/);
    expect((await cli(['env', 'connection', 'create', 'x', '--type', 'http', '--extra', '[1]'])).stderr).toMatch(/--extra must be a JSON object/);
    expect((await cli(['env', 'connection', 'create', 'bad key', '--type', 'http'])).code).toBe(2);
    expect((await cli(['env', 'connection', 'list', '--format', 'xml'])).stderr).toMatch(/valid formats: table, json, yaml/);
  });
});
