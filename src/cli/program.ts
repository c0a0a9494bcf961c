import { Command, CommanderError } from 'commander';
import type { Context } from './context.js';

/** Attaches a group's commands to the program. */
export type RegisterGroup = (program: Command, ctx: Context) => void;

/**
 * A top-level command group. Its module is imported only when the command line names it (or for completion,
 * `help <group>` and tests), so start-up does not pay for forty command files: `--version` and `--help` load
 * none of them. To add a group, write `src/commands/<group>/index.ts` exporting `register<Group>(program, ctx)`
 * and add an entry here (order = order in `--help`).
 */
export interface CommandGroup {
  name: string;
  /** The line `envmgr --help` shows for it. */
  summary: string;
  /** Extra words of the help line, e.g. `[domain-or-url]`. */
  usage?: string;
  load: () => Promise<RegisterGroup>;
}

export const COMMAND_GROUPS: CommandGroup[] = [
  { name: 'login', summary: 'log in to an Environment Manager and choose the organization and workspace', usage: '[options] [domain-or-url]', load: async () => (await import('../commands/login/index.js')).registerLogin },
  { name: 'logout', summary: 'forget the token and settings of an Environment Manager login', usage: '[domain]', load: async () => (await import('../commands/logout/index.js')).registerLogout },
  { name: 'auth', summary: 'show and use the current login (status, token)', load: async () => (await import('../commands/auth/index.js')).registerAuth },
  { name: 'config', summary: 'project (.envmgr/config.yaml) and global (-g) settings', load: async () => (await import('../commands/config/index.js')).registerConfig },
  { name: 'workspace', summary: 'list workspaces and choose the current one', load: async () => (await import('../commands/workspace/index.js')).registerWorkspace },
  { name: 'deployment', summary: "list deployments (the current workspace's, or the organization's with --all)", load: async () => (await import('../commands/deployment/index.js')).registerDeployment },
  { name: 'dev', summary: 'the local Airflow: sync connections, variables and pools into its metadata database', load: async () => (await import('../commands/dev/index.js')).registerDev },
  { name: 'object', summary: 'move Airflow objects between the local metadata database and files', load: async () => (await import('../commands/object/index.js')).registerObject },
  { name: 'env', summary: 'manage connections and Airflow variables on the Environment Manager', load: async () => (await import('../commands/env/index.js')).registerEnv },
  { name: 'server', summary: 'run an Environment Manager server and administer it', load: async () => (await import('../commands/server/index.js')).registerServer },
  { name: 'completion', summary: 'print a shell completion script (bash, zsh, fish)', usage: '<shell>', load: async () => (await import('../commands/completion/index.js')).registerCompletion },
];

export interface CreateProgramOptions {
  groups?: CommandGroup[];
  /**
   * The command line about to be parsed: only the group it names is loaded, the others are listed by name.
   * Without it every group is loaded (tests, completion).
   */
  argv?: string[];
}

/** A fresh program for one run (or one test). Never a module-level singleton. */
export async function createProgram(ctx: Context, opts: CreateProgramOptions = {}): Promise<Command> {
  const groups = opts.groups ?? COMMAND_GROUPS;
  const program = new Command('envmgr')
    .description('Bring Airflow connections and variables from an Environment Manager into local Airflow and CI')
    .version(ctx.version, '-V, --version', 'print the version')
    .option('--json', 'machine-readable output on stdout (nothing else there)')
    .option('--verbose', 'debug output on stderr (secrets redacted)')
    .option('--no-input', 'never prompt (implied without a terminal or when CI is set)')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .option('--ca-file <path>', 'extra CA certificates (PEM) to trust (also ENVMGR_CA_FILE)')
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });
  applyOutput(program, ctx);
  program.hook('preAction', async (_program, action) => {
    const opts = program.opts<{ json?: boolean; verbose?: boolean; input: boolean; color: boolean; caFile?: string }>();
    Object.assign(ctx.globals, {
      json: opts.json === true,
      verbose: opts.verbose === true,
      input: opts.input,
      color: opts.color,
      caFile: opts.caFile,
    });
    if (ctx.globals.color) {
      // `output.color: never` in the config; a config file that cannot be read is reported by the command itself.
      const settings = await ctx.config().catch(() => undefined);
      const resolved = settings?.resolve('output.color');
      const problem = resolved && settings!.problemOf(resolved);
      // Only how output looks depends on it: a bad value is said, not fatal (config commands, which show and mend
      // values, say it themselves where it matters).
      if (problem && action.parent?.name() !== 'config') {
        ctx.log.warn(`${problem}; colour stays automatic (envmgr config set output.color auto|always|never)`);
      }
      const mode = problem ? undefined : resolved?.value;
      if (mode === 'never') ctx.globals.color = false;
      if (mode === 'always') ctx.globals.forceColor = true;
    }
  });
  const wanted = opts.argv ? groupNamed(opts.argv, groups) : 'all';
  const registers = await Promise.all(groups.map((g) => (wanted === 'all' || wanted === g.name ? g.load() : undefined)));
  groups.forEach((group, i) => {
    const register = registers[i];
    if (register) register(program, ctx);
    else program.command(group.name).summary(group.summary).usage(group.usage ?? '[options] [command]');
  });
  return program;
}

/** Which group a command line runs: its first word (after `help`), `all` for completion, none for bare flags. */
function groupNamed(argv: string[], groups: CommandGroup[]): string | undefined {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--ca-file') i++;
    else if (!arg.startsWith('-')) words.push(arg);
  }
  const first = words[0] === 'help' ? words[1] : words[0];
  if (first === 'completion') return 'all';
  return groups.some((g) => g.name === first) ? first : undefined;
}

/** Every command gets `exitOverride` and the context's streams, so nothing exits the process or bypasses IO. */
function applyOutput(command: Command, ctx: Context): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => ctx.io.out(text),
    writeErr: (text) => ctx.io.err(text),
  });
}

/** Runs the program on argv (without node and the script); answers the exit code. */
export async function runProgram(ctx: Context, argv: string[], groups?: CommandGroup[]): Promise<number> {
  const program = await createProgram(ctx, { groups, argv });
  inheritOutput(program, ctx);
  const { exitCodeFor, formatError } = await import('./errors.js');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are CommanderErrors too; commander has already printed its message.
      if (['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync'].includes(error.code)) return 0;
      if (error.code === 'commander.unknownOption') suggestSubcommand(ctx, program, argv, error.message);
      return 2;
    }
    ctx.io.err(ctx.log.redact(formatError(error, ctx.globals.verbose)));
    return exitCodeFor(error);
  }
}

/**
 * After "unknown option" on a command that has subcommands (`envmgr server --dev`), names those that take that option
 * or have subcommands that do (`envmgr server start --dev or envmgr server admin … --dev`): it was most likely meant
 * for one of them.
 */
function suggestSubcommand(ctx: Context, program: Command, argv: string[], message: string): void {
  const flag = /unknown option '([^'=]+)/.exec(message)?.[1];
  if (!flag) return;
  // The command the words name: options skipped, with the value of one that takes a value.
  let command = program;
  let path = 'envmgr';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === flag || arg.startsWith(`${flag}=`)) break;
    if (arg.startsWith('-')) {
      const name = arg.split('=')[0]!;
      const option = [...command.options, ...program.options].find((o) => o.long === name || o.short === name);
      if (option && (option.required || option.optional) && !arg.includes('=')) i++;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) break;
    command = sub;
    path += ` ${sub.name()}`;
  }
  // Each subcommand that takes it, or whose own subcommands do (`server admin … --dev`).
  const takes = (c: Command): boolean => c.options.some((o) => o.long === flag || o.short === flag);
  const below = (c: Command): boolean => c.commands.some((sub) => takes(sub) || below(sub));
  const takers = command.commands.flatMap((sub) => (takes(sub) ? [`${path} ${sub.name()} ${flag}`] : below(sub) ? [`${path} ${sub.name()} … ${flag}`] : []));
  if (takers.length === 0) return;
  const shown = takers.length > 3 ? [...takers.slice(0, 3), `${takers.length - 3} more`] : takers;
  ctx.io.err(`(did you mean ${shown.join(' or ')}?)\n`);
}

function inheritOutput(command: Command, ctx: Context): void {
  for (const sub of command.commands) {
    applyOutput(sub, ctx);
    inheritOutput(sub, ctx);
  }
}
