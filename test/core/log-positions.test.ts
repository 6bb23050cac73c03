// LogPositions keeps terms as runs, the last lsn, and the lsn each block of 32
// entries starts from: whatever pushes and truncations happen (records up to
// the WAL's 16 MiB, logs past 4 GiB), every term, the last lsn and every
// anchor must agree with a plain array of terms and lsns.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogPositions } from '../../cluster/core/log-positions.js';

type Op = { push: { term: number; size: number } } | { truncate: number };

// Pushes far outnumber truncations, so logs grow past the first 1,024 entries
// (the arrays grow) and across many 32-entry blocks, with truncations inside
// and at the edges of blocks.
const op = fc.oneof(
  { weight: 40, arbitrary: fc.record({ term: fc.integer({ min: 1, max: 6 }), size: fc.oneof(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 16 * 2 ** 20 })) }).map((push): Op => ({ push })) },
  { weight: 1, arbitrary: fc.nat({ max: 40 }).map((back): Op => ({ truncate: back })) },
);

describe('LogPositions', () => {
  it('answers term and lsn like a plain array, across pushes, term changes and truncations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000, size: 'max' }), (ops) => {
        const positions = new LogPositions();
        const terms: number[] = [];
        const lsns: number[] = [];
        for (const step of ops) {
          if ('push' in step) {
            // Terms never go down in a log: a push takes the larger of the last term and the drawn one.
            const term = Math.max(terms.at(-1) ?? 1, step.push.term);
            const lsn = (lsns.at(-1) ?? 0) + step.push.size;
            positions.push(term, lsn);
            terms.push(term);
            lsns.push(lsn);
          } else {
            const keep = Math.max(0, terms.length - step.truncate);
            positions.truncate(keep, lsns[keep - 1] ?? 0);
            terms.length = keep;
            lsns.length = keep;
          }
        }
        if (ops.length === 3000) expect(terms.length).toBeGreaterThan(1_024);
        expect(positions.lastIndex).toBe(terms.length);
        expect(positions.term(0)).toBe(0);
        expect(positions.term(terms.length + 1)).toBe(-1);
        expect(positions.lastLsn).toBe(lsns.at(-1) ?? 0);
        for (let index = 1; index <= terms.length; index++) {
          expect(positions.term(index)).toBe(terms[index - 1]);
          const anchor = positions.anchor(index);
          expect(index - anchor.index).toBeGreaterThanOrEqual(1);
          expect(index - anchor.index).toBeLessThanOrEqual(32);
          expect(anchor.lsn).toBe(anchor.index === 0 ? 0 : lsns[anchor.index - 1]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('looks terms up across a truncation inside a run and a new term after it', () => {
    const positions = new LogPositions();
    for (let index = 1; index <= 10_000; index++) positions.push(index <= 5_000 ? 1 : 2, index * 10);
    expect([positions.term(1), positions.term(5_000), positions.term(5_001), positions.term(10_000)]).toEqual([1, 1, 2, 2]);
    positions.truncate(5_000, 50_000);
    expect(positions.term(5_000)).toBe(1);
    positions.push(3, 50_010);
    expect([positions.term(5_000), positions.term(5_001)]).toEqual([1, 3]);
  });
});
