/**
 * Serialized list responses (UTF-8 bytes, so a hit is sent without encoding again), keyed by organization revision: every write in an organization bumps its revision in the
 * same transaction, and every request reads the current revision with its token, so an entry is only ever served
 * for the data it was built from, whichever process wrote last. Only masked responses are kept: no secret in clear
 * stays in memory beyond the request that asked for it.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly maxEntries = 512,
  ) {}

  get(key: string): Buffer | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      // Re-insert: Map order doubles as least-recently-used order.
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= previous.length;
    }
    this.entries.set(key, value);
    this.bytes += value.length;
    for (const [oldest, v] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
      this.bytes -= v.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
