import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A cuid-like id: `c` followed by 24 random lowercase alphanumerics (25 characters). */
export function newId(): string {
  let out = 'c';
  while (out.length < 25) {
    for (const byte of randomBytes(32)) {
      // 252 = 7 * 36: rejecting the top bytes keeps every character equally likely.
      if (byte < 252 && out.length < 25) out += ALPHABET[byte % 36];
    }
  }
  return out;
}

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** API.md times: UTC, `YYYY-MM-DDTHH:MM:SSZ` (no fraction). */
export function formatTime(value: Date | string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  // Already in API form (list queries format times in SQL: parsing them into Dates cost more than the query).
  if (typeof value === 'string' && value.length === 20 && API_TIME.test(value)) return value;
  const date = value instanceof Date ? value : new Date(value);
  return `${date.toISOString().slice(0, 19)}Z`;
}

export const ID_PATTERN = '^[A-Za-z0-9_-]{1,100}$';
