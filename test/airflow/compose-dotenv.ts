/**
 * Test helper: docker compose's `.env` reading rules (compose-spec/compose-go `dotenv/parser.go` and
 * `godotenv.go`, read with the search tools), re-stated in TypeScript so tests can check that what envmgr writes
 * reads back the same under compose as under the real `dotenv` package. Interpolation is modelled only as far as
 * the tests need: `$$` is a literal `$`, any other `$` would be substituted, which the helper reports as an error so
 * a test can never pass on a value compose would change.
 */

const isSpace = (c: string) => '\t\v\f\r \u0085\u00a0'.includes(c);
// Go's unicode.IsSpace: JS \s without U+FEFF, plus U+0085.
const isUnicodeSpace = (c: string) => (/\s/u.test(c) && c !== '\ufeff') || c === '\u0085';
const trimRightSpace = (s: string) => {
  let e = s.length;
  while (e > 0 && isUnicodeSpace(s[e - 1]!)) e--;
  return s.slice(0, e);
};

function expandVariables(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '$') {
      out += value[i];
      continue;
    }
    if (value[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    throw new Error(`compose would interpolate ${JSON.stringify(value.slice(i, i + 10))}`);
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\u0007', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

function expandEscapes(value: string): string {
  return value.replace(/\\(?:[abcfnrtv$"\\]|0\d{0,3})/g, (m) => {
    if (m === '\\$') return '$$';
    const c = m[1]!;
    if (c === '0') return String.fromCharCode(parseInt(m.slice(2) || '0', 8));
    return SIMPLE_ESCAPES[c] ?? m;
  });
}

export function composeDotenvParse(input: string): Record<string, string> {
  const out: Record<string, string> = {};
  let src = input.startsWith('\ufeff') ? input.slice(1) : input;
  for (;;) {
    // statement start: skip white space and comment lines
    for (;;) {
      let p = 0;
      while (p < src.length && isUnicodeSpace(src[p]!)) p++;
      src = src.slice(p);
      if (src.startsWith('#')) {
        const nl = src.indexOf('\n');
        src = nl < 0 ? '' : src.slice(nl);
        continue;
      }
      break;
    }
    if (src === '') break;
    if (/^export\s+/.test(src)) {
      src = src.slice('export'.length);
      let p = 0;
      while (p < src.length && isSpace(src[p]!)) p++;
      src = src.slice(p);
    }
    let i = 0;
    let key = '';
    let inherited = false;
    for (; i < src.length; i++) {
      const c = src[i]!;
      if (isSpace(c)) continue;
      if (c === '=' || c === ':' || c === '\n') {
        key = src.slice(0, i);
        inherited = c === '\n';
        break;
      }
      if ('_.-[]'.includes(c) || /[\p{L}\p{N}]/u.test(c)) continue;
      throw new Error(`unexpected character ${JSON.stringify(c)} in variable name`);
    }
    if (i >= src.length) throw new Error('unexpected end of file');
    key = trimRightSpace(key);
    if (key.includes(' ')) throw new Error('key cannot contain a space');
    src = src.slice(i + 1);
    let p = 0;
    while (p < src.length && isSpace(src[p]!)) p++;
    src = src.slice(p);
    if (inherited) continue;
    const quote = src[0];
    if (quote === "'" || quote === '"') {
      let escaped = false;
      let chars = '';
      let closed = -1;
      for (let j = 1; j < src.length; j++) {
        const c = src[j]!;
        if (c !== quote) {
          if (!escaped && c === '\\') {
            escaped = true;
            continue;
          }
          if (escaped) {
            escaped = false;
            chars += '\\';
          }
          chars += c;
          continue;
        }
        if (escaped) {
          escaped = false;
          chars += c;
          continue;
        }
        closed = j;
        break;
      }
      if (closed < 0) throw new Error('unterminated quoted value');
      out[key] = quote === '"' ? expandVariables(expandEscapes(chars)) : chars;
      src = src.slice(closed + 1);
    } else {
      const nl = src.indexOf('\n');
      let value = nl < 0 ? src : src.slice(0, nl);
      src = nl < 0 ? '' : src.slice(nl + 1);
      const hash = value.indexOf(' #');
      if (hash >= 0) value = value.slice(0, hash);
      value = trimRightSpace(value);
      out[key] = expandVariables(value);
    }
  }
  return out;
}
