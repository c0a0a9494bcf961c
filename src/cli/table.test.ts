import { describe, expect, it } from 'vitest';
import { testIO } from './io.js';
import { printRecord, printTable, type Column } from './table.js';
import { clipToWidth, displayWidth, neutralizeControls } from './text-width.js';

describe('displayWidth', () => {
  it('counts terminal columns per grapheme cluster', () => {
    expect(displayWidth('warehouse_postgres')).toBe(18);
    expect(displayWidth('中文')).toBe(4); // East Asian Wide
    expect(displayWidth('한국어')).toBe(6); // Hangul syllables
    expect(displayWidth('ＡＢ')).toBe(4); // Fullwidth forms
    expect(displayWidth('e\u0301te\u0301')).toBe(3); // 'été' with each é written as e + combining acute
    expect(displayWidth('a\u200bb')).toBe(2); // zero-width space
    expect(displayWidth('👩‍👩‍👧')).toBe(2); // one ZWJ sequence
    expect(displayWidth('🇩🇪')).toBe(2); // a flag: two regional indicators
    expect(displayWidth('\u2764')).toBe(1); // ❤ is text by default…
    expect(displayWidth('\u2764\ufe0f')).toBe(2); // …and emoji with VS16
    expect(displayWidth('')).toBe(0);
  });
});

describe('clipToWidth', () => {
  it('cuts whole clusters only and ends in an ellipsis', () => {
    expect(clipToWidth('abcdef', 6)).toBe('abcdef');
    expect(clipToWidth('abcdefg', 6)).toBe('abcde…');
    expect(clipToWidth('中文字幕', 4)).toBe('中…');
    expect(clipToWidth('中文字幕', 6)).toBe('中文…');
    expect(clipToWidth('👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧', 4)).toBe('👩‍👩‍👧…');
    expect(clipToWidth('e\u0301e\u0301e\u0301e\u0301', 3)).toBe('e\u0301e\u0301…');
    for (let w = 1; w < 10; w++) {
      const clipped = clipToWidth('a😀b😀c😀d😀', w);
      expect(Buffer.from(clipped, 'utf8').toString('utf8')).toBe(clipped); // no half of a surrogate pair (UTF-8 cannot hold one)
      expect(displayWidth(clipped)).toBeLessThanOrEqual(Math.max(w, 1));
    }
  });
});

describe('neutralizeControls', () => {
  it('makes control characters visible', () => {
    expect(neutralizeControls('db\u001b]0;owned\u0007.example')).toBe('db\u241b]0;owned\u2407.example');
    expect(neutralizeControls('a\u007fb\u009bc')).toBe('a\ufffdb\ufffdc');
    expect(neutralizeControls('plain text, ünïcode 中文')).toBe('plain text, ünïcode 中文');
  });
});

describe('printTable on a terminal', () => {
  type Row = { key: string; id: string };
  const columns: Column<Row>[] = [
    { header: 'KEY', value: (r) => r.key, truncate: true },
    { header: 'ID', value: (r) => r.id },
  ];
  const rows: Row[] = [{ key: 'a_very_long_connection_key', id: 'c0f0pazsem27m2yme69to03hs' }];

  it('prints every value whole when the table fits', () => {
    const io = testIO({ isTTY: true, columns: 53 });
    printTable(io, columns, rows);
    expect(io.stdout()).toBe(`KEY${' '.repeat(25)}ID\na_very_long_connection_key  c0f0pazsem27m2yme69to03hs\n`);
  });

  it('narrows the truncatable columns just enough to fit', () => {
    const io = testIO({ isTTY: true, columns: 40 });
    printTable(io, columns, rows);
    // KEY gets 40 - 2 - 25 = 13 columns.
    expect(io.stdout()).toBe(`KEY${' '.repeat(12)}ID\na_very_long_…  c0f0pazsem27m2yme69to03hs\n`);
  });

  it('keeps every value whole when the table would not fit even narrowed', () => {
    // The narrowest the table can be is 8 + 2 + 25 = 35 columns.
    const io = testIO({ isTTY: true, columns: 34 });
    printTable(io, columns, rows);
    expect(io.stdout()).toBe(`KEY${' '.repeat(25)}ID\na_very_long_connection_key  c0f0pazsem27m2yme69to03hs\n`);
  });

  it('aligns by display width, not by UTF-16 units', () => {
    const io = testIO({ isTTY: true, columns: 100 });
    printTable(io, columns, [{ key: '中文', id: 'x' }, { key: 'abc', id: 'y' }, { key: '🇩🇪', id: 'z' }]);
    expect(io.stdout()).toBe('KEY   ID\n中文  x\nabc   y\n🇩🇪    z\n');
  });

  it('clips wide text to the columns it has', () => {
    const io = testIO({ isTTY: true, columns: 12 });
    printTable(io, columns, [{ key: '中文中文中文', id: 'x' }]);
    // 12 wide + 2 + 1 = 15 > 12; KEY gets 12 - 2 - 2 (the header ID) = 8 columns: three ideographs and the ellipsis.
    expect(io.stdout()).toBe('KEY       ID\n中文中…   x\n');
  });

  it('shows control characters instead of sending them to the terminal, and leaves them off a terminal', () => {
    const tty = testIO({ isTTY: true, columns: 100 });
    printTable(tty, columns, [{ key: 'k', id: 'a\u001b[2Jb' }]);
    expect(tty.stdout()).not.toContain('\u001b');
    expect(tty.stdout()).toContain('a\u241b[2Jb');
    const pipe = testIO({ isTTY: false });
    printTable(pipe, columns, [{ key: 'k', id: 'a\u001b[2Jb' }]);
    expect(pipe.stdout()).toBe('k\ta\u001b[2Jb\n');
  });

  it('prints a table of any length (no argument list as long as the rows)', () => {
    const io = testIO({ isTTY: true, columns: 100 });
    const many = Array.from({ length: 200_000 }, (_, i) => ({ key: `k${i}`, id: String(i) }));
    printTable(io, columns, many);
    const lines = io.stdout().split('\n');
    expect(lines.length).toBe(200_002);
    expect(lines[200_000]).toBe('k199999  199999');
  });
});

describe('printRecord on a terminal', () => {
  it('aligns the values and shows control characters', () => {
    const io = testIO({ isTTY: true });
    printRecord(io, [['host', 'db\u001b]0;x\u0007'], ['port', 5432]]);
    expect(io.stdout()).toBe('host  db\u241b]0;x\u2407\nport  5432\n');
  });
});
