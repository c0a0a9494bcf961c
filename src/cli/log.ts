import type { IO } from './io.js';

/**
 * Debug output for `--verbose`, on stderr. Every line passes through `redact`: values registered with
 * `addSecret` (the token, secrets read from stdin) and anything after `Bearer ` are replaced by `****`.
 */
export interface Logger {
  readonly verbose: boolean;
  debug(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  addSecret(value: string | undefined | null): void;
  redact(text: string): string;
}

export function createLogger(io: () => IO, verbose: () => boolean): Logger {
  const secrets = new Set<string>();
  const redact = (text: string): string => {
    let result = text.replace(/(bearer\s+)[^\s"',]+/gi, '$1****');
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...secrets].sort((a, b) => b.length - a.length)) result = result.split(secret).join('****');
    return result;
  };
  return {
    get verbose() {
      return verbose();
    },
    debug(message) {
      if (verbose()) io().err(redact(`debug: ${message}`) + '\n');
    },
    warn(message) {
      io().err(redact(`warning: ${message}`) + '\n');
    },
    info(message) {
      io().err(redact(message) + '\n');
    },
    addSecret(value) {
      // Very short values would redact ordinary words; nobody's secret is three characters long.
      if (value && value.length >= 4 && value !== '****') secrets.add(value);
    },
    redact,
  };
}
