// decodeStatement slices the common payload apart instead of JSON.parse-ing it
// (JSON.parse internalizes every short string, a string-table insert per
// parameter). It must agree with JSON.parse on every payload: the same
// statement, or a MalformedEntryError with the same message.

import { describe, expect, it } from 'vitest';
import { decodeStatement, encodeStatement } from '../../cluster/store/index.js';
import { parseStatement } from '../../cluster/store/statement.js';
import { paramsMax } from '../../cluster/store/constants.js';

/** A deterministic generator (a linear congruential sequence), so a failure names its seed. */
function generator(seed: number) {
  let x = seed >>> 0;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

const pieces = ['k', 'v', '42', 'é', '"', '\\', '\n', '\u0001', '\ud800', '😀', ' ', ',', ']', '[', '}', 'null', '"params":', 'SELECT ?', "'", '\t'];
const numbers = [0, -0, 1, -1, 1.5, 1e21, 1e-7, 123456789012345680000, Number.MAX_SAFE_INTEGER, -2.5e-300];

function outcome(decode: (data: string) => unknown, data: string): unknown {
  try {
    return { ok: decode(data) };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

describe('decodeStatement agrees with JSON.parse', () => {
  it('on payloads encodeStatement writes: every text and parameter comes back exactly', () => {
    for (let seed = 1; seed <= 2_000; seed++) {
      const g = generator(seed);
      const text = (): string => Array.from({ length: Math.floor(g.next() * 6) }, () => g.pick(pieces)).join('');
      const sql = `INSERT INTO kv VALUES (${text()})`;
      const params = Array.from({ length: Math.floor(g.next() * 5) }, () => (g.next() < 0.5 ? text() : g.next() < 0.8 ? g.pick(numbers) : null));
      const data = encodeStatement(sql, params);
      const decoded = decodeStatement(data);
      const reference = parseStatement(data);
      expect(decoded, `seed ${seed}`).toEqual(reference);
      expect(decoded.params.every((p, i) => Object.is(p, reference.params[i])), `seed ${seed}`).toBe(true);
      expect(decoded.sql).toBe(sql);
    }
  });

  it('on payloads with one character changed, inserted or removed: the same statement or the same error', () => {
    const base = encodeStatement('INSERT INTO kv(k, v) VALUES (?, ?)', ['k42', 1.5]);
    const alphabet = ['"', '\\', ',', '[', ']', '{', '}', ' ', '0', '1', '-', '.', 'e', 'n', 'x', ':', '\u0001', 'é'];
    for (let seed = 1; seed <= 5_000; seed++) {
      const g = generator(seed);
      const at = Math.floor(g.next() * (base.length + 1));
      const change = g.next();
      const data = change < 0.33 ? base.slice(0, at) + g.pick(alphabet) + base.slice(at + 1) : change < 0.66 ? base.slice(0, at) + g.pick(alphabet) + base.slice(at) : base.slice(0, at) + base.slice(at + 1);
      expect(outcome(decodeStatement, data), `seed ${seed}: ${data}`).toEqual(outcome(parseStatement, data));
    }
  });

  it.each([
    ['{"sql":"SELECT ?","params":[01]}'],
    ['{"sql":"SELECT ?","params":[1e400]}'],
    ['{"sql":"SELECT ?","params":[true]}'],
    ['{"sql":"SELECT ?","params":[1,]}'],
    ['{"sql":"SELECT ?","params":[]} '],
    ['{"sql":"SELECT ?","params":[],"params":[1]}'],
    ['{"sql":"SELECT ?","params":[1],"x":2}'],
    ['{"sql":"SELECT ?","params":["a\\"b"]}'],
    ['{"sql":"a\\",\\"params\\":[1]}'],
    ['{"sql":"SELECT ?","params":[nul]}'],
    ['{"sql":"SELECT ?","params":[-]}'],
    ['{"sql":"SELECT ?","params":[1.]}'],
    ['{"sql":"SELECT ?","params":[-0,0.0,1E2]}'],
  ])('on the edge case %s', (data) => {
    expect(outcome(decodeStatement, data)).toEqual(outcome(parseStatement, data));
  });

  it('at the parameter limit and one past it', () => {
    for (const count of [paramsMax, paramsMax + 1]) {
      const data = JSON.stringify({ sql: 'SELECT 1', params: Array.from({ length: count }, (_, i) => `p${i}`) });
      expect(outcome(decodeStatement, data)).toEqual(outcome(parseStatement, data));
    }
  });
});
