import { Readable, type Writable } from 'node:stream';

/**
 * The terminal as the commands see it. Data goes to `out`, everything else (progress, warnings, prompts,
 * errors) to `err`; `--json` relies on that split.
 */
export interface IO {
  out(text: string): void;
  err(text: string): void;
  readonly in: Readable;
  /** stdout is a terminal: tables get a header, padding and colour. */
  readonly isTTY: boolean;
  readonly color: boolean;
  /** A prompt may be shown: stdin and stdout are terminals, `CI` is unset and `--no-input` was not given. */
  readonly canPrompt: boolean;
  /** Terminal width for tables (80 when unknown). */
  readonly columns: number;
  /** The streams themselves, for the prompts library. */
  readonly streams: { input: Readable; output: Writable };
}

export interface ProcessIOOptions {
  env: NodeJS.ProcessEnv;
  /** Read on each use: the flags are parsed after the IO is created. */
  globals: { input: boolean; color: boolean; forceColor?: boolean };
}

/**
 * A stream whose reader went away (`envmgr … | head -1`): what is still to be written has nobody to read it. The
 * write error (EPIPE) is swallowed and later writes are dropped, so that the command ends as it would have (its
 * database write or file included) and exits with its own code, instead of Node's unhandled-'error' stack trace.
 */
function dropWhenClosed(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') closed = true;
    else throw error;
  });
  return (text) => {
    if (!closed) stream.write(text);
  };
}

/** `CI` set to anything but empty, `false` or `0` (CI=false is a common way to say "not CI"). */
export function isCi(value: string | undefined): boolean {
  return value !== undefined && !['', 'false', '0'].includes(value.trim().toLowerCase());
}

export function processIO(opts: ProcessIOOptions): IO {
  const stdoutTTY = process.stdout.isTTY === true;
  const stdinTTY = process.stdin.isTTY === true;
  const ci = isCi(opts.env.CI);
  const out = dropWhenClosed(process.stdout);
  const err = dropWhenClosed(process.stderr);
  return {
    out,
    err,
    get in() {
      return process.stdin;
    },
    isTTY: stdoutTTY,
    get color() {
      return (stdoutTTY || opts.globals.forceColor === true) && opts.globals.color && !opts.env.NO_COLOR && opts.env.TERM !== 'dumb';
    },
    get canPrompt() {
      return stdoutTTY && stdinTTY && !ci && opts.globals.input;
    },
    columns: process.stdout.columns ?? 80,
    get streams() {
      return { input: process.stdin, output: process.stderr };
    },
  };
}

export interface TestIO extends IO {
  stdout(): string;
  stderr(): string;
}

/** An IO that records what was written, for tests. `stdin` is given as text. */
export function testIO(opts: { stdin?: string; isTTY?: boolean; canPrompt?: boolean; color?: boolean; columns?: number } = {}): TestIO {
  let out = '';
  let err = '';
  // Created on first use so that a test that never reads stdin does not hold an open stream.
  let input: Readable | undefined;
  const lazyInput = (): Readable => {
    if (!input) {
      input = streamFrom(opts.stdin ?? '');
    }
    return input;
  };
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    get in() {
      return lazyInput();
    },
    isTTY: opts.isTTY ?? false,
    color: opts.color ?? false,
    canPrompt: opts.canPrompt ?? false,
    columns: opts.columns ?? 100,
    get streams() {
      return { input: lazyInput(), output: { write: (s: string) => ((err += s), true) } as unknown as Writable };
    },
    stdout: () => out,
    stderr: () => err,
  };
}

function streamFrom(text: string): Readable {
  return Readable.from(text === '' ? [] : [Buffer.from(text)]);
}

/** Reads all of stdin (for `--with-token`, `--password-stdin`), without the final newline. */
export async function readAll(input: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of input) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}
