import { checkScopeFlags } from '../env/scope.js';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { shownValue } from '../../config/registry.js';
import type { ResolvedSetting } from '../../config/settings.js';
import { CancelError, UserError } from '../../cli/errors.js';
import { ApiError } from '../../api/errors.js';
import { assertReadable, readSettingsSource, displayPath } from '../../sync/local.js';
import { withJsonFailureReport, type SyncReport } from '../../sync/report.js';
import {
  desiredFromRemote, findRuntimeShadows, mergeSources, REMOTE_SOURCE,
  type RemoteEnvironmentObject,
} from '../../sync/sources.js';
import { defaultSettingsFile, loadProject, openTarget, prepareTarget, type OpenTarget, type TargetFlags } from '../../sync/target.js';
import { runSync, validateDesired, type SyncSources } from '../../sync/run.js';

export interface DevStartOptions extends TargetFlags {
  workspaceId?: string;
  deploymentId?: string;
  settingsFile?: string;
  dryRun?: boolean;
  prune?: boolean;
  overwrite?: boolean;
  skipInvalid?: boolean;
  /** `--no-start-command`: false skips dev.start_command on this run. */
  startCommand?: boolean;
}

export function registerDevStart(parent: Command, ctx: Context): void {
  parent
    .command('start')
    .description("sync the Environment Manager's connections and variables and the settings file into the local Airflow metadata database")
    .option('-w, --workspace-id <id>', "the workspace's own objects (its id, or its name)")
    .option('-d, --deployment-id <id>', 'the objects resolved for a deployment, by id or name (its own, plus linked workspace objects with overrides)')
    .option('-s, --settings-file <file>', 'Airflow settings file (default: dev.settings_file, airflow_settings.yaml)')
    .option('--env <file>', "the project's .env (default: dev.env_file, .env)")
    .option('--db-url <url>', 'local metadata database (Postgres or SQLAlchemy URL)')
    .option('--fernet-key <key>', 'Fernet key of the local Airflow (empty: store unencrypted)')
    .option('--wait <duration>', 'how long to wait for the database (default: dev.wait, 5m)')
    .option('--dry-run', 'print the plan and write nothing to the database (dev.start_command still runs: the plan needs the database)')
    .option('--prune', 'delete rows envmgr wrote whose source no longer has them')
    .option('--overwrite', 'replace local rows envmgr did not write, or that changed since it wrote them')
    .option('--skip-invalid', 'write the valid objects when some are invalid (still exits non-zero)')
    .option('--no-start-command', 'do not run dev.start_command on this run')
    .action(async (opts: DevStartOptions & { env?: string }) => {
      checkScopeFlags(opts);
      await runDevStart(ctx, { ...opts, envFile: opts.env });
    });
}

type RemoteScope = { workspaceId: string } | { deploymentId: string };

async function runStartCommand(ctx: Context, setting: ResolvedSetting, cwd: string, whence: string, cancel: Cancellation): Promise<void> {
  const command = setting.value!;
  ctx.io.err(`Running dev.start_command: ${shownValue('dev.start_command', command)}\n`);
  // On a terminal it stays in envmgr's process group and session: Ctrl-C and a hang-up reach all of it, as they
  // reach envmgr, and it keeps the terminal (sudo, a password prompt). Elsewhere (an IDE, CI) only envmgr gets the
  // stop: the command gets a group of its own, so that the cancel can stop all of it, what the shell started too.
  const group = process.platform !== 'win32' && !process.stdin.isTTY;
  const child = spawn(command, { cwd, shell: true, stdio: ['ignore', 'pipe', 'pipe'], env: ctx.env, detached: group });
  let closed = false;
  const ended = new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      closed = true;
      done(code);
    });
  });
  const signal = (name: NodeJS.Signals) => {
    if (closed || child.pid === undefined) return;
    try {
      if (group) process.kill(-child.pid, name);
      else child.kill(name);
    } catch {
      // already gone
    }
  };
  let cancelled = false;
  cancel.onCancel(async () => {
    // SIGTERM, time to stop cleanly (its output still shown), then SIGKILL.
    cancelled = true;
    signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    signal('SIGKILL');
  });
  child.stdout.on('data', (chunk: Buffer) => ctx.io.err(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => ctx.io.err(chunk.toString()));
  const code = await ended;
  // Stopped by a cancel: the command ends as that cancel, not as a failed start command.
  if (cancelled) return new Promise<never>(() => undefined);
  if (code !== 0) {
    // The advice changes it where it is set: a variable is not changed by config set.
    const change = setting.source === 'env' ? `change ${setting.origin}` : `change it with envmgr config set${setting.source === 'global' ? ' -g' : ''} dev.start_command (${whence})`;
    throw new UserError(`dev.start_command failed (exit ${code ?? 'signal'}); nothing was synced. Fix it, ${change}, or skip it this once with --no-start-command`);
  }
}

async function fetchRemote(ctx: Context, scope: RemoteScope): Promise<RemoteEnvironmentObject[]> {
  const api = await ctx.api();
  const { organizationId } = await ctx.session();
  const fetchFor = async (at: RemoteScope) => {
    const list = (objectType: 'CONNECTION' | 'AIRFLOW_VARIABLE') =>
      api.listEnvironmentObjects(organizationId, { ...at, objectType, showSecrets: true, resolveLinked: true });
    const [connections, variables] = await Promise.all([list('CONNECTION'), list('AIRFLOW_VARIABLE')]);
    return [...connections, ...variables] as RemoteEnvironmentObject[];
  };
  try {
    return await fetchFor(scope);
  } catch (error) {
    // Not an id: perhaps a name (as workspace switch and deployment list -w take). Looked up only then, so that
    // the usual run (an id) costs no extra request.
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    const { findNamed } = await import('../shared/pick.js');
    const [what, wanted] = 'deploymentId' in scope ? (['deployment', scope.deploymentId] as const) : (['workspace', scope.workspaceId] as const);
    const items = what === 'deployment' ? await api.deployments(organizationId) : await api.workspaces(organizationId);
    const found = findNamed(items, wanted, what);
    if (found.id === wanted) throw error;
    ctx.io.err(`${what} ${JSON.stringify(wanted)} is ${found.id}\n`);
    return fetchFor(what === 'deployment' ? { deploymentId: found.id } : { workspaceId: found.id });
  }
}

/** With --json, a run that stops before its report still prints one JSON document (withJsonFailureReport). */
export function runDevStart(ctx: Context, opts: DevStartOptions): Promise<SyncReport> {
  return withJsonFailureReport(ctx, opts.dryRun === true, () => untilInterrupted((cancel) => devStart(ctx, opts, cancel)));
}

/** What dev start hands its parts for a cancel: hooks that stop what they started, and the point past which it is too late. */
export interface Cancellation {
  /** Runs on a cancel; a returned promise is waited for (bounded) before the command ends. */
  onCancel(hook: () => void | Promise<unknown>): void;
  /** The report is about to be printed: a signal from here on gets Node's default, not a second (cancel) document. */
  disarm(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How long a cancel waits for the start command to end after SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;

/**
 * Runs the work until SIGINT, SIGTERM or SIGHUP, which ends it as a cancel (exit 130, and with --json its document):
 * what it started is stopped first (the hooks: the start command, given time to stop cleanly; the database
 * connection, whose transaction Postgres then rolls back). A second signal gets Node's default: the handlers are off.
 */
async function untilInterrupted<T>(work: (cancel: Cancellation) => Promise<T>): Promise<T> {
  const hooks: Array<() => void | Promise<unknown>> = [];
  let handler: ((signal: NodeJS.Signals) => void) | undefined;
  const off = () => {
    for (const signal of SIGNALS) process.off(signal, handler!);
  };
  const interrupted = new Promise<never>((_, reject) => {
    handler = (signal) => {
      off();
      const stopping = hooks.map((hook) => {
        try {
          return Promise.resolve(hook()).catch(() => undefined);
        } catch {
          return undefined; // stopping what is already gone
        }
      });
      void Promise.all(stopping).then(() => reject(new CancelError(`interrupted (${signal}); nothing is written unless the sync had already committed`)));
    };
    for (const signal of SIGNALS) process.on(signal, handler);
  });
  interrupted.catch(() => undefined);
  try {
    return await Promise.race([work({ onCancel: (hook) => hooks.push(hook), disarm: off }), interrupted]);
  } finally {
    off();
  }
}

async function devStart(ctx: Context, opts: DevStartOptions, cancel: Cancellation): Promise<SyncReport> {
  const settings = await ctx.config();
  // The keys with a fixed set of values are checked before anything runs: a typo in ENVMGR_DEV_PREFER or the config
  // file is an error naming where it is, not a silent `local`.
  const disabled = settings.bool('disable_env_objects');
  const prefer = settings.checked('dev.prefer').value === 'remote' ? 'remote' : 'local';
  const project = await loadProject(ctx, opts.envFile);

  if (disabled && (opts.workspaceId || opts.deploymentId)) {
    // The advice must undo the setting where it was made: a project value overrides a global one, an env var both.
    const where = settings.resolve('disable_env_objects');
    const undo = where.source === 'env' ? `unset ${where.origin ?? 'the environment variable'}`
      : where.source === 'project' ? 'envmgr config set disable_env_objects false'
        : 'envmgr config set -g disable_env_objects false';
    throw new UserError(
      `fetching environment objects is disabled (disable_env_objects is true${where.origin ? ` in ${where.origin}` : ''}); turn it back on with: ${undo}`,
    );
  }
  let scope: RemoteScope | undefined;
  if (opts.deploymentId) scope = { deploymentId: opts.deploymentId };
  else if (opts.workspaceId) scope = { workspaceId: opts.workspaceId };
  else if (!disabled) {
    const dep = settings.resolve('project.deployment').value;
    const ws = settings.resolve('project.workspace').value;
    if (dep) scope = { deploymentId: dep };
    else if (ws) scope = { workspaceId: ws };
  }

  // Only a command that is going ahead starts the local Airflow (a refusal above leaves everything as it was): its
  // flags and files are checked first (the database URL, the key, the wait, a settings file named with -s), the
  // login, and, when there is a start command, the objects are fetched first (a deployment that is not there stops it).
  const prepared = await prepareTarget(ctx, project, opts);
  if (opts.settingsFile) await assertReadable(resolve(ctx.cwd, opts.settingsFile), 'settings file');
  if (scope) await ctx.session();
  // The fetched objects become desired objects as soon as they arrive: nothing keeps the API's (much larger) objects
  // alive after that, which spares the garbage collector from tracing them for the rest of the command.
  const fetching = (scope ? fetchRemote(ctx, scope) : Promise.resolve([])).then((remoteObjects) => {
    const desired = desiredFromRemote(remoteObjects);
    const problems = validateDesired(desired);
    // The settings reader already leaves invalid entries out; remote ones are dropped here.
    const valid = problems.length === 0 ? desired : desired.filter((d) => !problems.some((p) => p.kind === d.kind && p.key === d.key));
    return { fetched: remoteObjects.length, valid, problems };
  });
  fetching.catch(() => undefined); // awaited below in every path
  const startCommand = settings.resolve('dev.start_command');
  if (startCommand.value && opts.startCommand !== false) {
    // A deployment or workspace that does not exist (a typo in its name) stops the command before the start command.
    await fetching;
    await runStartCommand(ctx, startCommand, project.root, settings.whence(startCommand), cancel);
  }

  // The database is opened while the objects are fetched, and the sync's transaction (lock, key check, sync state)
  // starts as soon as it is open: it waits for the objects before reading what it compares, and nothing is written
  // before every page has arrived. Any API failure stops the command, rolled back, with the API's message.
  let failed = false;
  const opening = openTarget(ctx, project, opts, { abandoned: () => failed }, prepared);
  // A cancel closes the connection (Postgres rolls back a transaction that had not committed) and silences the
  // progress of a database still being waited for.
  cancel.onCancel(() => {
    failed = true;
    return opening.then((t) => t.client.end(), () => undefined);
  });
  let target: OpenTarget;
  try {
    // A failed fetch is reported at once, even while the database is still being waited for.
    target = await Promise.race([opening, fetching.then(() => opening)]);
  } catch (err) {
    // The database may still be opening: it must not print its progress after the error, as if the command went on.
    failed = true;
    void opening.then((t) => t.client.end(), () => undefined);
    await fetching; // a failed fetch explains more than the database
    throw err;
  }
  try {
    const settingsPath = opts.settingsFile ? resolve(ctx.cwd, opts.settingsFile) : defaultSettingsFile(project.root, settings.resolve('dev.settings_file').value);
    const local = await readSettingsSource(settingsPath, { cwd: ctx.cwd, required: opts.settingsFile !== undefined, airflow: target.info.uriVariant });
    for (const w of local.warnings) ctx.io.err(`warning: ${w.file ?? local.file}:${w.line ?? '?'}: ${w.message}\n`);
    // --prune deletes what a source no longer has. A source with invalid entries (or a file that does not parse)
    // does not say that about them: its rows are kept rather than deleted as if the entries were gone.
    const unprunable = (what: string) => ctx.io.err(`note: --prune leaves the rows from ${what} alone this time: it has invalid entries\n`);
    const settingsPrunable = local.exists && local.problems.length === 0;
    if (opts.prune && local.exists && !settingsPrunable) unprunable(local.file);
    let remotePrunable = scope !== undefined;
    if (opts.prune && scope) {
      // Only a --prune run waits for the objects before the sync starts, to know whether they were all valid.
      const { problems } = await fetching;
      if (problems.length > 0) {
        remotePrunable = false;
        unprunable('the Environment Manager');
      }
    }
    const pruneSources = [...(settingsPrunable ? [local.source] : []), ...(remotePrunable ? [REMOTE_SOURCE] : [])];

    const sources = fetching.then(({ fetched, valid, problems }): SyncSources => {
      if (scope) {
        const what = 'deploymentId' in scope ? `deployment ${scope.deploymentId}` : `workspace ${scope.workspaceId}`;
        ctx.io.err(`Fetched ${fetched} environment object${fetched === 1 ? '' : 's'} for ${what}\n`);
      } else {
        // Said, so that a run that was meant to fetch (a forgotten -d) is not mistaken for one with nothing new.
        ctx.io.err(
          disabled
            ? 'note: the Environment Manager is not read (disable_env_objects is true): syncing the settings file only\n'
            : 'note: no deployment or workspace given (-d, -w, or project.deployment / project.workspace in the config): ' +
                'the Environment Manager is not read, syncing the settings file only\n',
        );
      }
      const merged = mergeSources(local.desired, valid, prefer);
      return {
        desired: merged.desired,
        shadowed: merged.shadowed,
        runtimeShadows: findRuntimeShadows(merged.desired, ctx.env, project.dotenv, displayPath(project.envFile, ctx.cwd)),
        problems: [...local.problems, ...problems],
      };
    });

    return await runSync(
      ctx,
      target,
      {
        skipInvalid: opts.skipInvalid === true, dryRun: opts.dryRun === true, prune: opts.prune === true, overwrite: opts.overwrite === true, pruneSources,
        beforeReport: () => cancel.disarm(),
        reportKept: true,
      },
      sources,
    );
  } finally {
    await target.client.end().catch(() => undefined);
  }
}

