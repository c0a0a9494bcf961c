import { printableLines } from './text-width.js';

/**
 * The CLI's error hierarchy. Commands throw these; only `main` turns them into an exit code (see `exitCodeFor`).
 * Messages are lower-case and end with what to do next.
 */
export class UserError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** Wrong flags or arguments (exit 2). */
export class UsageError extends UserError {
  override readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Credentials missing, unknown or expired (exit 4). */
export class AuthError extends UserError {
  override readonly exitCode: number = 4;
  /** What the server said, when it refused a token (`the API token has expired: ask for a new token`). */
  readonly reason: string | undefined;
  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'AuthError';
    this.reason = options?.reason;
  }
}

/** The user cancelled a prompt or pressed Ctrl-C (exit 130). */
export class CancelError extends UserError {
  override readonly exitCode: number = 130;
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelError';
  }
}

export const EXIT_BUG = 1;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UserError) return error.exitCode;
  return EXIT_BUG;
}

/**
 * The text printed on stderr for an error: one line, unless `--verbose` asks for the stack of a bug. Control
 * characters in it (a name a server sent, say) are shown, not obeyed by the terminal.
 */
export function formatError(error: unknown, verbose: boolean): string {
  if (error instanceof UserError) {
    const cause = verbose && error.cause instanceof Error ? `\n  caused by: ${error.cause.message}` : '';
    return `error: ${printableLines(error.message + cause)}\n`;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (verbose && error instanceof Error && error.stack) return `error: ${printableLines(error.stack)}\n`;
  return `error: ${printableLines(message)}\n(this is unexpected; re-run with --verbose for details)\n`;
}
