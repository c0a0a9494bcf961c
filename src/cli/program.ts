import { Command, CommanderError, Option } from 'commander';
import type { Context } from './context.js';
import { registerAuth } from '../commands/auth/index.js';
import { registerCompletion } from '../commands/completion/index.js';
import { registerConfig } from '../commands/config/index.js';
import { registerDeployment } from '../commands/deployment/index.js';
import { registerDev } from '../commands/dev/index.js';
import { registerEnv } from '../commands/env/index.js';
import { registerLogin } from '../commands/login/index.js';
import { registerLogout } from '../commands/logout/index.js';
import { registerObject } from '../commands/object/index.js';
import { registerServer } from '../commands/server/index.js';
import { registerWorkspace } from '../commands/workspace/index.js';

/**
 * A command group: attaches its commands to the program. To add one, write `src/commands/<group>/index.ts`
 * exporting `register<Group>(program, ctx)` and add it to this list (order = order in `--help`).
 */
export type RegisterGroup = (program: Command, ctx: Context) => void;

export const COMMAND_GROUPS: RegisterGroup[] = [
  registerLogin,
  registerLogout,
  registerAuth,
  registerConfig,
  registerWorkspace,
  registerDeployment,
  registerDev,
  registerObject,
  registerEnv,
  registerServer,
  registerCompletion,
];

/** A fresh program for one run (or one test). Never a module-level singleton. */
export function createProgram(ctx: Context, groups: RegisterGroup[] = COMMAND_GROUPS): Command {
  const program = new Command('envmgr')
    .description('Bring Airflow connections and variables from an Environment Manager into local Airflow and CI')
    .version(ctx.version, '-V, --version', 'print the version')
    .option('--json', 'machine-readable output on stdout (nothing else there)')
    .option('--verbose', 'debug output on stderr (secrets redacted)')
    .option('--no-input', 'never prompt (implied without a terminal or when CI is set)')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .addOption(new Option('--ca-file <path>', 'extra CA certificates (PEM) to trust').env('ENVMGR_CA_FILE'))
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false, showGlobalOptions: true });
  applyOutput(program, ctx);
  program.hook('preAction', async () => {
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
      const mode = await ctx.config().then((s) => s.resolve('output.color').value, () => undefined);
      if (mode === 'never') ctx.globals.color = false;
      if (mode === 'always') ctx.globals.forceColor = true;
    }
  });
  for (const register of groups) register(program, ctx);
  return program;
}

/** Every command gets `exitOverride` and the context's streams, so nothing exits the process or bypasses IO. */
function applyOutput(command: Command, ctx: Context): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => ctx.io.out(text),
    writeErr: (text) => ctx.io.err(text),
  });
}

/** Runs the program on argv (without node and the script); answers the exit code. */
export async function runProgram(ctx: Context, argv: string[], groups?: RegisterGroup[]): Promise<number> {
  const program = createProgram(ctx, groups);
  inheritOutput(program, ctx);
  const { exitCodeFor, formatError } = await import('./errors.js');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are CommanderErrors too; commander has already printed its message.
      if (['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync'].includes(error.code)) return 0;
      return 2;
    }
    ctx.io.err(ctx.log.redact(formatError(error, ctx.globals.verbose)));
    return exitCodeFor(error);
  }
}

function inheritOutput(command: Command, ctx: Context): void {
  for (const sub of command.commands) {
    applyOutput(sub, ctx);
    inheritOutput(sub, ctx);
  }
}
