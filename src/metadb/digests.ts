import { createHash, createHmac } from 'node:crypto';
import type { FernetKeys } from '../airflow/fernet.js';
import type { AirflowConnection, AirflowObjectKind } from '../airflow/model.js';
import { fernetCore, HEAP, SIP_KEYS, SIP_KEYS_AT } from './fernet-core.js';
import type { DbConnection } from './read.js';
import { storedPassword } from './rows.js';
import { canonicalExtras, canonicalExtrasBatch, type FieldSupport } from './sync-state.js';

/**
 * What envmgr_sync_state records of the content envmgr wrote: a keyed digest of each field of the object (below),
 * so that a later sync can tell, without reading or decrypting the row, whether the desired object differs from
 * what was written and in which fields.
 *
 * The digests are keyed with a key derived from the Fernet key, so that reading the table tells nothing about the
 * secrets it covers: an unkeyed hash of a password would let anyone who can read the metadata database test guesses
 * against it, which the Fernet encryption of the password column is there to prevent. Each field has its own key
 * (so that equal values in two fields give unrelated digests), and each field's digest covers the object's key with
 * the value (so that two objects holding one password give unrelated digests: the table does not tell which
 * connections share a secret). The digest is SipHash-2-4, a pseudorandom function
 * for short inputs, truncated to 48 bits (what a collision could cost is one update reported with one field too few;
 * an update is missed only if every field collides).
 *
 * What a field's digest covers depends on the kind. A connection's fields are digested column by column, each as
 * the text Airflow stores before encryption (the password only when non-empty, the port as its digits) but the
 * extra, which is digested as its canonical JSON (keys sorted at every level, as canonicalConnection has it: an
 * extra Airflow or its UI wrote with other key order or spacing is the same extra); NULL is the one byte 0xff, which
 * no UTF-8 text holds (`connections`). Whatever canonicalConnection finds equal thus has equal digests, whether
 * compared by digest (a row still as envmgr wrote it) or in full. A sync digests thousands of connections, and this
 * needs no canonical text of the whole object. A
 * variable's or a pool's fields are digested as the JSON text of each element of its canonical text (`many`), as
 * connections were too before the stored form (layout v2); such a connection digest is still recognised (`matches`)
 * though not compared field by field (`current`): its rows are read and compared in full once, then re-recorded.
 *
 * A recorded digest reads `<kid>.<8 characters per field>`. The key id (`kid`) names the key, the field layout and
 * the form digested: digests are compared only under the same kid. Without a Fernet key, Airflow stores every value
 * in plaintext and the digests use a fixed key. envmgr 0.1 recorded an unkeyed SHA-256 of the canonical text (64 hex
 * digits); such a hash is still recognised (`matches`), so that the first sync after an upgrade tells rows envmgr
 * wrote from rows changed since, then replaces it.
 */

/** The fields of a kind's canonical content, in the order of its canonical text. */
export function contentFields(kind: AirflowObjectKind, fields: FieldSupport): string[] {
  switch (kind) {
    case 'connection':
      return ['conn_type', ...(fields.connectionDescription ? ['description'] : []), 'host', 'login', 'password', 'schema', 'port', 'extra'];
    case 'variable':
      return ['value', ...(fields.variableDescription ? ['description'] : [])];
    case 'pool':
      return ['slots', ...(fields.poolDescription ? ['description'] : []), ...(fields.includeDeferred ? ['include_deferred'] : [])];
  }
}

/** Characters per field digest: 6 bytes of base64url. */
const FIELD_CHARS = 8;
const FIELD_BYTES = 6;

/** Key material when Airflow has no Fernet key (values are stored in plaintext then, so nothing is hidden). */
const NO_KEY = Buffer.from('envmgr: Airflow has no Fernet key');

interface Layout {
  /** `<kid>.` */
  prefix: string;
  names: readonly string[];
  /** The SipHash key of each field, 16 bytes each. */
  sipKeys: Buffer;
  /**
   * Whether each field's digest covers the object's key (every digest made now): a cell is `<key>\0<value>`, or
   * `<key>\1` for NULL (a key holds no NUL, so no two cells read alike). Digests recorded before did not (`false`):
   * they are still recognised (`matches`), and replaced at the next sync.
   */
  perObject: boolean;
}

/** The legacy (envmgr 0.1) content hash: SHA-256 of the kind and the canonical text, in hex. */
export function legacyContentHash(kind: AirflowObjectKind, text: string): string {
  return createHash('sha256').update(`${kind}\n${text}`).digest('hex');
}

const LEGACY = /^[0-9a-f]{64}$/;

/** What a layout digests: the elements of the canonical text (variables, pools; connections before), or stored text. */
type Form = 'canonical' | 'stored';

/** The form of the digests a sync records for a kind. */
const FORM: Record<AirflowObjectKind, Form> = { connection: 'stored', variable: 'canonical', pool: 'canonical' };


/** A cell code of `connectionCells`: NULL; an extra that is an element of the batch's JSON text (canonicalExtrasBatch). */
const NULL_CELL = -1;
const JSON_CELL = -2;

/**
 * The cells of connections in contentFields order (each object's conn_id first when `owned`) as their texts and a
 * code per cell: its length, NULL_CELL, or JSON_CELL where `extra(i)` answers undefined.
 */
function connectionCells(
  cs: ReadonlyArray<AirflowConnection | DbConnection>, fields: FieldSupport, owned: boolean, extra: (i: number) => string | null | undefined,
): { parts: string[]; codes: Int32Array; count: number } {
  const perObject = contentFields('connection', fields).length + (owned ? 1 : 0);
  const codes = new Int32Array(cs.length * perObject);
  const parts: string[] = [];
  const withDescription = fields.connectionDescription;
  let k = 0;
  const put = (v: string | number | null | undefined) => {
    if (v === null || v === undefined) codes[k++] = NULL_CELL;
    else {
      const text = typeof v === 'string' ? v : String(v);
      parts.push(text);
      codes[k++] = text.length;
    }
  };
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (owned) put(c.conn_id);
    put(c.conn_type);
    if (withDescription) put(c.description);
    put(c.host);
    put(c.login);
    put(storedPassword(c));
    put(c.schema);
    put(c.port);
    const e = extra(i);
    if (e === undefined) codes[k++] = JSON_CELL;
    else put(e);
  }
  return { parts, codes, count: k };
}

/** The UTF-8 bytes of all the texts one after the other (all ASCII: one string, one write). */
function textBytes(parts: readonly string[]): { joined: string; ascii: boolean; bytes: number } {
  const joined = parts.join('');
  const ascii = Buffer.byteLength(joined, 'utf8') === joined.length;
  // Not all ASCII: each text is measured (and written, placeText) on its own, as Postgres gets it: joined, a lone
  // surrogate ending one would pair with one starting the next.
  return { joined, ascii, bytes: ascii ? joined.length : parts.reduce((sum, part) => sum + Buffer.byteLength(part, 'utf8'), 0) };
}

/** Writes the texts at `at`; not all ASCII, each on its own, its code (a length) then its byte count. */
function placeText(mem: Buffer, at: number, parts: readonly string[], codes: Int32Array, count: number, text: ReturnType<typeof textBytes>): void {
  if (text.ascii) mem.write(text.joined, at, 'latin1');
  else for (let i = 0, p = 0; i < count; i++) if (codes[i]! >= 0) at += codes[i] = mem.write(parts[p++]!, at, 'utf8');
}

export class ContentDigests {
  /** One secret per Fernet key, the first being the key new digests are made with. */
  private readonly secrets: readonly Buffer[];
  /** Per field support (a sync's one `info.has`) and kind, per key: layouts are looked up for every row. */
  private readonly layouts = new WeakMap<FieldSupport, Record<AirflowObjectKind, Array<Layout | undefined>>>();

  constructor(keys: FernetKeys | null) {
    this.secrets = keys && keys.keys.length > 0 ? keys.keys.map((k) => Buffer.concat([k.signing, k.encryption])) : [NO_KEY];
  }

  private layout(kind: AirflowObjectKind, fields: FieldSupport, which = 0, form: Form = FORM[kind], perObject = true): Layout {
    let perKind = this.layouts.get(fields);
    if (!perKind) this.layouts.set(fields, (perKind = { connection: [], variable: [], pool: [] }));
    const slot = 4 * which + (form === 'stored' ? 1 : 0) + (perObject ? 2 : 0);
    let layout = perKind[kind][slot];
    if (!layout) {
      const names = contentFields(kind, fields);
      const version = form === 'stored' ? (perObject ? 'v4 columns per object' : 'v3 columns') : perObject ? 'v3 per object' : 'v2';
      const derive = (label: string) =>
        createHmac('sha256', this.secrets[which]!).update(`envmgr sync-state digests ${version}\u0000${kind}\u0000${names.join(',')}\u0000${label}`).digest();
      const sipKeys = Buffer.alloc(16 * names.length);
      names.forEach((_, j) => derive(`field ${j}`).copy(sipKeys, 16 * j, 0, 16));
      layout = { prefix: `${derive('kid').toString('base64url').slice(0, 8)}.`, names, sipKeys, perObject };
      perKind[kind][slot] = layout;
    }
    return layout;
  }

  /**
   * The digest of each connection (desired, or a row as read) under the first key (or key `which`): its fields as
   * Airflow stores them (see the top of this file), in one pass of the module over all their text.
   */
  connections(cs: ReadonlyArray<AirflowConnection | DbConnection>, fields: FieldSupport, which = 0, perObject = true): string[] {
    const layout = this.layout('connection', fields, which, 'stored', perObject);
    if (cs.length === 0) return [];
    return perObject ? this.ownedCells(layout, cs, fields) : this.plainCells(layout, cs, fields);
  }

  /**
   * The digests of layouts whose cells cover the object's key: in the module's memory each object's conn_id and its
   * cells' text once (sipOwned puts the two together per cell), the flat extras as the one JSON text they are made as
   * (canonicalExtrasBatch), found there by splitRows; no string is made per cell.
   */
  private ownedCells(layout: Layout, cs: ReadonlyArray<AirflowConnection | DbConnection>, fields: FieldSupport): string[] {
    const n = cs.length;
    const f = layout.names.length;
    const extras = canonicalExtrasBatch(cs);
    // Per object its conn_id, then each cell.
    const { parts, codes: lengths, count: k } = connectionCells(cs, fields, true, (i) => (extras.inJson[i] ? undefined : extras.texts[i]!));
    const text = textBytes(parts);
    const bytes = text.bytes;
    const json = extras.json;
    const jsonBytes = json === null ? 0 : Buffer.byteLength(json, 'utf8');
    const ownersAt = HEAP;
    const cellsAt = ownersAt + 8 * n;
    const textAt = cellsAt + 8 * n * f;
    const jsonAt = textAt + bytes;
    const splitAt = (jsonAt + jsonBytes + 3) & ~3;
    const scratchAt = splitAt + 8 * extras.count;
    // The longest message: a conn_id, one byte and a cell, none longer than all the text.
    const digestsAt = ((scratchAt + bytes + jsonBytes + 1 + 8 + 3) & ~3) + 8;
    const core = fernetCore();
    const mem = core.reserve(digestsAt + n * f * (FIELD_BYTES + FIELD_CHARS));
    placeText(mem, textAt, parts, lengths, k, text);
    if (json !== null) {
      mem.write(json, jsonAt, 'utf8');
      const found = core.fn.splitRows(jsonAt, jsonAt + jsonBytes, splitAt, splitAt + 4 * extras.count, 0x7b, 0x7d);
      if (found !== extras.count) throw new Error(`expected a JSON array of ${extras.count} flat objects, found ${found}`);
    }
    const spans = new Int32Array(mem.buffer, ownersAt, (textAt - ownersAt) >>> 2);
    const split = new Int32Array(mem.buffer, splitAt, 2 * extras.count);
    let at = textAt;
    for (let i = 0, o = 0, s = 2 * n, j = 0; i < k; ) {
      // The conn_id, then the cells.
      spans[o++] = at;
      at += lengths[i++]!;
      spans[o++] = at;
      for (let e = i + f; i < e; i++) {
        const len = lengths[i]!;
        if (len >= 0) {
          spans[s++] = at;
          at += len;
          spans[s++] = at;
        } else if (len === NULL_CELL) {
          spans[s++] = -1;
          spans[s++] = -1;
        } else {
          spans[s++] = split[j]!;
          spans[s++] = split[extras.count + j++]!;
        }
      }
    }
    mem.set(layout.sipKeys, SIP_KEYS_AT);
    const end = core.fn.sipOwned(n, f, ownersAt, cellsAt, scratchAt, digestsAt);
    // The text holds passwords and extras (and the scratch a copy of the last), the spans their lengths: the module's
    // memory keeps none of them.
    mem.fill(0, ownersAt, digestsAt);
    if (end !== digestsAt + n * f * FIELD_BYTES) throw new Error(`the digest module refused ${f} connection fields`);
    return this.encode(layout, n, digestsAt, end);
  }

  /** The digests of layouts whose cells are the values alone (recorded before; NULL the byte 0xff). */
  private plainCells(layout: Layout, cs: ReadonlyArray<AirflowConnection | DbConnection>, fields: FieldSupport): string[] {
    const n = cs.length;
    const f = layout.names.length;
    const extras = canonicalExtras(cs);
    // Cell by cell, in contentFields order.
    const { parts, codes: lengths, count: k } = connectionCells(cs, fields, false, (i) => extras[i]!);
    const text = textBytes(parts);
    const bytes = text.bytes;
    const nullAt = HEAP;
    const lengthsAt = HEAP + 16;
    const textAt = lengthsAt + 4 * k;
    const digestsAt = textAt + bytes;
    const core = fernetCore();
    const mem = core.reserve(digestsAt + k * (FIELD_BYTES + FIELD_CHARS));
    mem[nullAt] = 0xff;
    placeText(mem, textAt, parts, lengths, k, text);
    new Int32Array(mem.buffer, lengthsAt, k).set(lengths);
    mem.set(layout.sipKeys, SIP_KEYS_AT);
    const end = core.fn.sipCells(k, f, lengthsAt, textAt, nullAt, digestsAt);
    // The text holds passwords and extras, and their lengths: the module's memory keeps no copy of either.
    mem.fill(0, lengthsAt, digestsAt);
    if (end !== digestsAt + k * FIELD_BYTES) throw new Error(`the digest module refused ${f} connection fields`);
    return this.encode(layout, n, digestsAt, end);
  }

  /**
   * The digest of each canonical text of objects of one kind, under the first key (or key `which` of the list): the
   * form a sync records for variables and pools (connections: `connections`).
   */
  many(kind: AirflowObjectKind, fields: FieldSupport, texts: readonly string[], keys: readonly string[] | null, which = 0): string[] {
    const layout = this.layout(kind, fields, which, 'canonical', keys !== null);
    const n = texts.length;
    if (n === 0) return [];
    // Per object, each element of the canonical text becomes the JSON string of the key, NUL, the element's text.
    if (keys) texts = texts.map((t, i) => JSON.stringify((JSON.parse(t) as unknown[]).map((e) => `${keys[i]!}\u0000${JSON.stringify(e)}`)));
    // In the module's memory: text offsets, text ends, the texts, the digests, then their base64url text.
    const startsAt = HEAP;
    const endsAt = startsAt + 4 * n;
    const textsAt = endsAt + 4 * n;
    // Usually all ASCII: one string, one write, offsets from the lengths.
    const joined = texts.join('');
    const textBytes = Buffer.byteLength(joined, 'utf8');
    const ascii = textBytes === joined.length;
    const mem = this.reserveFor(layout, n, textsAt + textBytes);
    const words = new Int32Array(mem.buffer, 0, textsAt >>> 2);
    let at = textsAt;
    if (ascii) mem.write(joined, textsAt, 'latin1');
    for (let i = 0; i < n; i++) {
      words[(startsAt >>> 2) + i] = at;
      at += ascii ? texts[i]!.length : mem.write(texts[i]!, at, 'utf8');
      words[(endsAt >>> 2) + i] = at;
    }
    const out = this.digestTexts(kind, layout, n, startsAt, endsAt, textsAt + textBytes);
    // The texts hold variables' values and connections' secrets: the module's memory keeps no copy of them.
    fernetCore().bytes.fill(0, textsAt, textsAt + textBytes);
    return out;
  }

  /** The module's memory, long enough for texts ending at `textsEnd` and the digests of `n` of them after them. */
  private reserveFor(layout: Layout, n: number, textsEnd: number): Buffer {
    const f = layout.names.length;
    return fernetCore().reserve(textsEnd + n * f * (FIELD_BYTES + FIELD_CHARS));
  }

  /** The digests of the `n` texts whose offsets are at startsAt and endsAt, made at digestsAt (see reserveFor). */
  private digestTexts(kind: AirflowObjectKind, layout: Layout, n: number, startsAt: number, endsAt: number, digestsAt: number): string[] {
    const f = layout.names.length;
    if (f > SIP_KEYS) throw new Error(`${kind} has ${f} fields, more than the ${SIP_KEYS} the digest module takes`);
    const core = fernetCore();
    core.bytes.set(layout.sipKeys, SIP_KEYS_AT);
    const end = core.fn.sipFields(n, startsAt, endsAt, digestsAt);
    if (end !== digestsAt + n * f * FIELD_BYTES) throw new Error(`${kind} content is not a canonical text of ${f} fields`);
    return this.encode(layout, n, digestsAt, end);
  }

  /**
   * The digests' text: the module's field digests of `n` objects, [digestsAt, end), as base64url after them (room
   * for which the caller reserved, and 8 bytes before digestsAt for two words), each object's with the prefix.
   */
  private encode(layout: Layout, n: number, digestsAt: number, end: number): string[] {
    const core = fernetCore();
    const mem = core.bytes;
    const f = layout.names.length;
    const base64At = end;
    // 6 bytes are 8 base64 digits exactly: the whole run's text is each digest's text one after the other.
    const rangeAt = (digestsAt - 8) & ~3;
    const words = new Int32Array(mem.buffer, rangeAt, 2);
    words[0] = digestsAt;
    words[1] = end;
    core.fn.base64Many(1, rangeAt, rangeAt + 4, base64At);
    const all = mem.toString('latin1', base64At, base64At + n * f * FIELD_CHARS);
    const out = new Array<string>(n);
    const width = f * FIELD_CHARS;
    for (let i = 0; i < n; i++) out[i] = layout.prefix + all.slice(i * width, (i + 1) * width);
    return out;
  }

  /** The digest of one object of a kind other than connection: its key and canonical text. */
  one(kind: AirflowObjectKind, fields: FieldSupport, key: string, text: string): string {
    return this.many(kind, fields, [text], [key])[0]!;
  }

  /**
   * Whether a recorded digest can be compared with the ones a sync makes now (same key, same fields, same form:
   * `connections` for connections, `many` for the other kinds).
   */
  current(kind: AirflowObjectKind, fields: FieldSupport, recorded: string): boolean {
    return recorded.startsWith(this.layout(kind, fields).prefix);
  }

  /** What every digest `current` accepts for a kind begins with (for a check made on thousands of rows). */
  currentPrefix(kind: AirflowObjectKind, fields: FieldSupport): string {
    return this.layout(kind, fields).prefix;
  }

  /**
   * Whether `recorded` is what envmgr would have recorded for this content: under any of the Fernet keys (a
   * MultiFernet's older keys included), in either form (see the top of this file), or as envmgr 0.1's unkeyed
   * hash. `text` gives the canonical text; a connection's stored form is digested from `row`.
   */
  matches(
    kind: AirflowObjectKind, fields: FieldSupport, recorded: string, key: string, text: () => string, row?: AirflowConnection | DbConnection,
  ): boolean {
    if (LEGACY.test(recorded)) return recorded === legacyContentHash(kind, text());
    for (let which = 0; which < this.secrets.length; which++) {
      for (const perObject of [true, false]) {
        if (kind === 'connection' && row && recorded.startsWith(this.layout(kind, fields, which, 'stored', perObject).prefix)) {
          return recorded === this.connections([row], fields, which, perObject)[0];
        }
        if (recorded.startsWith(this.layout(kind, fields, which, 'canonical', perObject).prefix)) {
          return recorded === this.many(kind, fields, [text()], perObject ? [key] : null, which)[0];
        }
      }
    }
    return false;
  }

  /** The fields whose digests differ, for two digests made under the current key (see `current`). */
  changedFields(kind: AirflowObjectKind, fields: FieldSupport, a: string, b: string): string[] {
    const { prefix, names } = this.layout(kind, fields);
    const out: string[] = [];
    // Character by character: a sync runs this for every updated row, and slicing would copy every field's digest.
    for (let j = 0, at = prefix.length; j < names.length; j++, at += FIELD_CHARS) {
      for (let k = at; k < at + FIELD_CHARS; k++) {
        if (a.charCodeAt(k) !== b.charCodeAt(k)) {
          out.push(names[j]!);
          break;
        }
      }
    }
    return out;
  }
}

const PLAINTEXT = new ContentDigests(null);
const byKeys = new WeakMap<FernetKeys, ContentDigests>();

/** The digests of syncs with these Fernet keys (null: Airflow without a key), one instance per keys object. */
export function digestsFor(keys: FernetKeys | null): ContentDigests {
  if (!keys) return PLAINTEXT;
  let digests = byKeys.get(keys);
  if (!digests) byKeys.set(keys, (digests = new ContentDigests(keys)));
  return digests;
}
