/**
 * The in-process cache of list responses: serialized pages (UTF-8 bytes, sent as they are) and whole resolved sets
 * (one serialized JSON fragment per object, from which any page is sliced), for masked AND for showSecrets requests.
 *
 * Why caching secret-bearing text in memory is acceptable here, and the rules that keep it so:
 * - Entries are keyed by organization and organization revision. Every write in an organization (objects, links,
 *   exclusions, its settings) bumps the revision in the same transaction, and every request reads the current
 *   revision in the same query that authenticates its token, so an entry is only served for the data it was built
 *   from, whichever process wrote last.
 * - An entry never crosses organizations (the organization is part of the key and owns the bucket) and never
 *   crosses callers' authorization: what is cached depends only on the query (including whether secrets are shown),
 *   never on the caller, and the caller's rights (role, the organization's environmentSecretsFetchingEnabled, token
 *   expiry) are checked on every request BEFORE the cache is consulted, from the row just read from the database.
 * - As soon as a request of this process sees a newer revision of an organization, every entry of the older
 *   revisions is dropped, so a rotated or deleted secret does not linger in memory.
 * - Bounded by entries and by bytes (least recently used first out); nothing is ever written to disk or logged.
 * - The cache can be turned off (`responseCache: false`), which also keeps every plaintext secret out of memory
 *   beyond the request that asked for it.
 */
export type CachedValue = Buffer | string[];

interface Bucket {
  revision: bigint;
  keys: Set<string>;
}

interface Entry {
  organizationId: string;
  value: CachedValue;
  size: number;
}

/** Approximate memory of a value: bytes of a Buffer, two bytes per UTF-16 code unit of strings. */
export function sizeOf(value: CachedValue): number {
  if (Buffer.isBuffer(value)) return value.length;
  let n = 0;
  for (const s of value) n += 2 * s.length + 16;
  return n;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private readonly buckets = new Map<string, Bucket>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly maxEntries = 512,
  ) {}

  /**
   * Brings the organization's bucket to `revision`: a newer revision drops every older entry of the organization.
   * Answers false when `revision` is older than one already seen (a request that read the revision just before a
   * write committed): such a request neither reads nor fills the cache.
   */
  private current(organizationId: string, revision: string): boolean {
    const rev = BigInt(revision);
    const bucket = this.buckets.get(organizationId);
    if (!bucket) {
      this.buckets.set(organizationId, { revision: rev, keys: new Set() });
      return true;
    }
    if (rev === bucket.revision) return true;
    if (rev < bucket.revision) return false;
    for (const key of bucket.keys) this.drop(key);
    bucket.keys.clear();
    bucket.revision = rev;
    return true;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
    this.buckets.get(entry.organizationId)?.keys.delete(key);
  }

  get(organizationId: string, revision: string, key: string): CachedValue | undefined {
    if (!this.current(organizationId, revision)) return undefined;
    const full = `${organizationId}\n${key}`;
    const entry = this.entries.get(full);
    if (entry === undefined) return undefined;
    // Re-insert: Map order doubles as least-recently-used order.
    this.entries.delete(full);
    this.entries.set(full, entry);
    return entry.value;
  }

  set(organizationId: string, revision: string, key: string, value: CachedValue): void {
    if (!this.current(organizationId, revision)) return;
    const size = sizeOf(value);
    if (size > this.maxBytes) return;
    const full = `${organizationId}\n${key}`;
    this.drop(full);
    this.entries.set(full, { organizationId, value, size });
    this.bytes += size;
    this.buckets.get(organizationId)?.keys.add(full);
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.drop(oldest);
    }
    for (const [org, bucket] of this.buckets) if (bucket.keys.size === 0 && org !== organizationId) this.buckets.delete(org);
  }

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }
}
