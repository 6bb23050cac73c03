// The WAL keeps only the last lsn and one every 32 entries in memory; any other
// lsn it reads back from the records' length fields on disk. Whatever writes,
// rewrites of a suffix and reopenings happen, with many small segments (so a
// block of 32 entries often spans two), every range it reads back must be
// exactly what was written.

import * as fs from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { openWal, type Wal } from '../../cluster/wal/index.js';
import { makeEntries, makeTempDir } from './helpers.js';

type Op = { write: { back: number; terms: number; sizes: number[] } } | { read: { lo: number; span: number } } | { reopen: true };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ back: fc.nat({ max: 80 }), terms: fc.nat({ max: 1 }), sizes: fc.array(fc.nat({ max: 400 }), { minLength: 1, maxLength: 60 }) })
      .map((write): Op => ({ write })),
  },
  { weight: 3, arbitrary: fc.record({ lo: fc.nat({ max: 1_000 }), span: fc.integer({ min: 1, max: 120 }) }).map((read): Op => ({ read })) },
  { weight: 1, arbitrary: fc.constant<Op>({ reopen: true }) },
);

const dirs: string[] = [];
const open: Wal[] = [];

afterEach(async () => {
  for (const wal of open.splice(0)) await wal.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the WAL index (an lsn every 32 entries)', () => {
  it('reads back exactly what was written, across segments, rewrites and reopenings', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const dir = makeTempDir();
        dirs.push(dir);
        const openLog = (): Wal => {
          const { wal } = openWal({ dir, fsync: false, segmentBytesMax: 4_096 });
          open.push(wal);
          return wal;
        };
        let wal = openLog();
        let model: Entry[] = [];
        for (const step of ops) {
          if ('write' in step) {
            // A suffix rewrite as a follower does it: from up to `back` entries before the end, in a term not older.
            const writeFrom = Math.max(1, model.length + 1 - step.write.back);
            const term = (model[writeFrom - 2]?.term ?? 1) + step.write.terms;
            const entries = makeEntries({
              from: writeFrom,
              lsnBefore: model[writeFrom - 2]?.lsn ?? 0,
              specs: step.write.sizes.map((size) => ({ term, data: 'x'.repeat(size) })),
            });
            wal.write(writeFrom, entries);
            model = [...model.slice(0, writeFrom - 1), ...entries];
          } else if ('read' in step) {
            if (model.length === 0) continue;
            const lo = 1 + (step.read.lo % model.length);
            const hi = Math.min(model.length + 1, lo + step.read.span);
            expect(wal.entries(lo, hi)).toEqual(model.slice(lo - 1, hi - 1));
          } else {
            await wal.flush();
            await wal.close();
            open.splice(open.indexOf(wal), 1);
            wal = openLog();
          }
          expect(wal.lastIndex()).toBe(model.length);
        }
        expect(wal.entries()).toEqual(model);
      }),
      { numRuns: 60 },
    );
  });
});
