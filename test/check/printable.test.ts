// Text from a history file reaches the terminal only as visible escapes:
// `printable` itself, and the text and Markdown reports and parse errors
// built from a history whose keys, values and errors hold terminal escapes.

import { describe, expect, it } from 'vitest';
import { checkHistory, formatMarkdown, formatText, parseHistory, printable, quoted } from '../../cluster/check/index.js';
import { History } from './history.js';

const esc = '\x1b';
const title = `${esc}]0;pwned\x07`;
const clear = `${esc}[2J`;
/** Anything a terminal acts on or hides: C0, DEL, C1, bidi overrides, line separators, lone surrogates. */
const dangerous = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('printable', () => {
  it('shows control characters as escapes and leaves ordinary text alone', () => {
    expect(printable(`a${title}b${clear}c`)).toBe('a\\x1b]0;pwned\\x07b\\x1b[2Jc');
    expect(printable('line\nnext\ttab\rcr')).toBe('line\\nnext\\ttab\\rcr');
    expect(printable('\x7f\x9b\u202e\u2028\ud800')).toBe('\\x7f\\x9b\\u{202e}\\u{2028}\\u{d800}');
    expect(printable('k3 é 😀 日本')).toBe('k3 é 😀 日本');
  });

  it('doubles backslashes so an escape in the output always means the character', () => {
    expect(printable('typed \\x1b')).toBe('typed \\\\x1b');
    expect(printable('json \\u001b', { backslash: false })).toBe('json \\u001b');
  });

  it('quotes values with " escaped', () => {
    expect(quoted(`say "hi"${esc}`)).toBe('"say \\"hi\\"\\x1b"');
  });
});

describe('reports from a history with escapes in it', () => {
  const key = `k${title}${clear}`;
  const h = new History()
    .write(1, key, `v${clear}`, `s${esc}[31m`)
    .ok(1, { index: 5, term: 1, node: `n1${esc}[5m` })
    .write(4, key, 'w4')
    .ok(4, { index: 4 })
    .read(2, key, 's2')
    .ok(2, { idx: 1, value: `old${title}` })
    .write(3, 'b', 'v3')
    .info(3)
    .log(6, `n2${clear}`)
    .committed(4, 1, key, 'w4')
    .committed(5, 2, key, `other${clear}`)
    .rolledBack(`n1${esc}[5m`, 5, 1, key, `v${clear}`)
    .final(`n3|${esc}[2J`, 6, `sum${clear}`)
    .final('n4', 6, 'other');

  it('the text report shows every string from the file escaped', () => {
    const text = formatText(checkHistory(h.records), { examplesShown: 100, heading: [`history: /tmp/${clear}.jsonl`] });
    expect(text).not.toMatch(dangerous);
    expect(text).toContain('write k\\x1b]0;pwned\\x07\\x1b[2J="v\\x1b[2J" acknowledged by n1\\x1b[5m');
    expect(text).toContain('(s\\x1b[31m)');
    expect(text).toContain('saw idx 1 "old\\x1b]0;pwned\\x07"');
    expect(text).toContain('rolled back on n1\\x1b[5m');
    expect(text).toContain('history: /tmp/\\x1b[2J.jsonl');
    expect(text).toMatch(/n3\|\\x1b\[2J sum\\x1b\[2J/);
  });

  it('the Markdown report too, with | kept inside its table cell', () => {
    const md = formatMarkdown(checkHistory(h.records), { title: 'run' });
    expect(md).not.toMatch(dangerous);
    expect(md).toContain('| n3\\|\\x1b[2J | 6 |');
    expect(md).toContain("Committed log read from n2\\x1b[2J's WAL");
  });

  it('a parse error quotes what it read as escapes', () => {
    expect(() => parseHistory(`${clear}${title}garbage\n`)).toThrow(/line 1: not a JSON object/);
    try {
      parseHistory(`${clear}${title}garbage\n`);
    } catch (error) {
      expect((error as Error).message).not.toMatch(dangerous);
    }
    const unknownType = `{"type":"x\u009b2J\u202e","op":1}\n`;
    expect(() => parseHistory(unknownType)).toThrow(/unknown record type "x\\x9b2J\\u\{202e\}"/);
  });
});
