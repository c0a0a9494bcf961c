import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';
import { readAll } from '../../cli/io.js';
import { fileErrorReason } from '../../sync/local.js';
import { parseExtra, type EnvKind, type FieldInput } from './kinds.js';

/**
 * Fills in the secret of `input` (a connection's password, a variable's value) from stdin or a no-echo prompt,
 * so it never has to be typed on the command line, and a connection's extra from `--extra-file`.
 * `required`: the value must end up set (a new variable).
 * `prompt`: ask on a terminal when nothing was given (create); an update keeps the stored secret instead.
 */
export async function readSecret(ctx: Context, kind: EnvKind, input: FieldInput, opts: { required: boolean; prompt: boolean }): Promise<void> {
  if (kind.objectType === 'CONNECTION') {
    const connection = (input.connection ??= {});
    if (input.extraFile !== undefined) connection.extra = await readExtraFile(ctx, input.extraFile);
    if (input.secretFromStdin) connection.password = await readStdinSecret(ctx, '--password-stdin', 'drop --password-stdin to leave the password as it is');
    else if (opts.prompt && ctx.prompter.canPrompt) {
      const password = await ctx.prompter.secret('Password (leave empty for none)', { flag: '--password-stdin' });
      if (password !== '') connection.password = password;
    }
    ctx.log.addSecret(connection.password);
    return;
  }
  const variable = (input.variable ??= {});
  if (input.secretFromStdin) variable.value = await readStdinSecret(ctx, '--value-stdin', "pass --value '' for an empty value");
  else if (variable.value === undefined && opts.required) {
    const flag = '--value-stdin (value on stdin) or --value <value>';
    variable.value = variable.isSecret
      ? await ctx.prompter.secret('Value', { flag })
      : await ctx.prompter.input('Value', { flag });
  }
  if (variable.isSecret) ctx.log.addSecret(variable.value);
  if (opts.required && variable.value === undefined) throw new UsageError('a value is needed; pass --value-stdin or --value');
}

/**
 * The secret piped to a `*-stdin` flag. Empty stdin (a variable unset in `echo -n "$PW" |`) is refused, as
 * `login --with-token` refuses it, rather than stored as an empty secret.
 */
async function readStdinSecret(ctx: Context, flag: string, otherwise: string): Promise<string> {
  const value = await readAll(ctx.io.in);
  if (value === '') throw new UsageError(`empty stdin: ${flag} needs the value on stdin; pipe it in, or ${otherwise}`);
  return value;
}

/** The extra in `--extra-file` (`-`: stdin). What the file holds is the user's to fix (exit 1), not a usage error. */
async function readExtraFile(ctx: Context, path: string): Promise<Record<string, unknown>> {
  let text: string;
  if (path === '-') text = await readAll(ctx.io.in);
  else {
    try {
      text = await readFile(resolve(ctx.cwd, path), 'utf8');
    } catch (err) {
      throw new UserError(`cannot read --extra-file ${path}: ${fileErrorReason(err)}`);
    }
  }
  return parseExtra(text, `--extra-file ${path}`, UserError);
}
