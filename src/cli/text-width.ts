/**
 * How much room text takes on a terminal, by grapheme cluster (what a user sees as one character): East Asian wide
 * and fullwidth characters and emoji take two columns, combining marks and other zero-width characters none,
 * everything else one (the rules of wcwidth and UAX #11). Object keys, hosts and names may be in any script, and a
 * table is aligned by what the terminal shows, not by UTF-16 code units.
 */

let segmenter: Intl.Segmenter | undefined;

/** The grapheme clusters of `text` (the segmenter is made at the first text that is not plain ASCII). */
function clusters(text: string): Iterable<Intl.SegmentData> {
  return (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(text);
}

/** Printable ASCII: one column a code unit (the usual case, measured without segmenting). */
const ASCII = /^[\x20-\x7e]*$/;

/** A cluster with no width of its own: marks, format characters (ZWJ, BOM, …), controls, a lone surrogate. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}\p{Cs}]+$/u;

/** Shown as emoji (two columns): emoji presentation by default, or asked for with VS16 (U+FE0F). */
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F/u;

/** East Asian Wide (W) and Fullwidth (F) code points, in ranges (Unicode EastAsianWidth.txt, the blocks that matter). */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2e80, 0x303e], // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK strokes, enclosed, compatibility
  [0x3400, 0x4dbf], // CJK unified ideographs extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x16fe4], // ideographic symbols
  [0x17000, 0x18cff], // Tangut, Khitan
  [0x1b000, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B to F, compatibility supplement
  [0x30000, 0x3fffd], // CJK extensions G and H
];

function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = WIDE[mid]!;
    if (cp < from) hi = mid - 1;
    else if (cp > to) lo = mid + 1;
    else return true;
  }
  return false;
}

function clusterWidth(cluster: string): number {
  if (ZERO_WIDTH.test(cluster)) return 0;
  if (isWide(cluster.codePointAt(0)!) || EMOJI.test(cluster)) return 2;
  return 1;
}

/** The columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  if (ASCII.test(text)) return text.length;
  let width = 0;
  for (const { segment } of clusters(text)) width += clusterWidth(segment);
  return width;
}

/**
 * `text` cut to at most `width` columns, ending in `…` when cut; whole clusters only, so that a surrogate pair, an
 * emoji sequence or a letter with its accents is never split.
 */
export function clipToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  const room = Math.max(0, width - 1);
  let out = '';
  let used = 0;
  for (const { segment } of clusters(text)) {
    const w = clusterWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** `text` padded with spaces to `width` columns. */
export function padToWidth(text: string, width: number): string {
  const missing = width - displayWidth(text);
  return missing > 0 ? text + ' '.repeat(missing) : text;
}

/**
 * Control characters made visible (`\x1b` → `\u241B`, the Control Pictures block), so that text from a server or a
 * database (a host, a description) cannot move the cursor, retitle the window or otherwise drive the terminal it is
 * printed on. DEL and C1 controls become `\uFFFD`.
 */
export function neutralizeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : '\ufffd';
  });
}

/** `neutralizeControls` of each line of a message: its line breaks are kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(neutralizeControls).join('\n');
}
