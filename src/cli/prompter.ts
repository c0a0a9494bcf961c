import type { IO } from './io.js';
import { CancelError, UsageError } from './errors.js';

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

/**
 * Every question the CLI asks goes through here. Each call names the flag that answers it instead, so that
 * without a terminal (or with `--no-input`) the command fails with that flag's name rather than hanging.
 */
export interface Prompter {
  readonly canPrompt: boolean;
  input(message: string, opts: { flag: string; default?: string }): Promise<string>;
  secret(message: string, opts: { flag: string }): Promise<string>;
  /** `default`: the choice the cursor starts on (one of `choices`' values). */
  select<T>(message: string, choices: Choice<T>[], opts: { flag: string; default?: T }): Promise<T>;
  confirm(message: string, opts: { flag: string; default?: boolean }): Promise<boolean>;
}

function refuse(flag: string, message: string, question = false): never {
  const what = message.replace(/[:?]\s*$/, '');
  // "Delete variable x from workspace y?" is an action to confirm; "Workspace" or "Domain or URL …" a value to give.
  const need = question ? `${what[0]!.toLowerCase()}${what.slice(1)} needs a confirmation` : `${what.toLowerCase()} is needed`;
  throw new UsageError(`${need}, but prompting is not possible (no terminal, CI or --no-input); pass ${flag}`);
}

/** The real prompter: @inquirer/prompts, loaded on the first question. */
export function inquirerPrompter(io: IO): Prompter {
  const load = () => import('@inquirer/prompts');
  const context = () => ({ input: io.streams.input, output: io.streams.output, clearPromptOnDone: false });
  const guard = async <T>(ask: () => Promise<T>): Promise<T> => {
    try {
      return await ask();
    } catch (error) {
      if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) throw new CancelError();
      throw error;
    }
  };
  return {
    get canPrompt() {
      return io.canPrompt;
    },
    async input(message, opts) {
      if (!io.canPrompt) refuse(opts.flag, message);
      const { input } = await load();
      return guard(() => input({ message, default: opts.default }, context()));
    },
    async secret(message, opts) {
      if (!io.canPrompt) refuse(opts.flag, message);
      const { password } = await load();
      return guard(() => password({ message, mask: false }, context()));
    },
    async select(message, choices, opts) {
      if (!io.canPrompt) refuse(opts.flag, message);
      const { select } = await load();
      return guard(() => select({ message, choices, pageSize: 15, ...(opts.default !== undefined ? { default: opts.default } : {}) }, context()));
    },
    async confirm(message, opts) {
      if (!io.canPrompt) refuse(opts.flag, message, true);
      const { confirm } = await load();
      return guard(() => confirm({ message, default: opts.default ?? false }, context()));
    },
  };
}

/** A prompter for tests: answers from a queue, in order; refuses like the real one when `canPrompt` is false. */
export function scriptedPrompter(answers: unknown[], canPrompt = true): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = <T>(message: string, flag: string): T => {
    if (!canPrompt) refuse(flag, message);
    asked.push(message);
    if (answers.length === 0) throw new Error(`unexpected prompt: ${message}`);
    return answers.shift() as T;
  };
  return {
    canPrompt,
    asked,
    input: async (m, o) => next<string>(m, o.flag),
    secret: async (m, o) => next<string>(m, o.flag),
    select: async <T>(m: string, _c: Choice<T>[], o: { flag: string }) => next<T>(m, o.flag),
    confirm: async (m, o) => next<boolean>(m, o.flag),
  };
}
