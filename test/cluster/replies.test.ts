// Results as they arrive from a node: the shape each request expects, or null
// (the caller's 'malformed-reply' error), never a value read with casts.

import { expect, it } from 'vitest';
import { checksumResult, executeResult, queryResult } from '../../cluster/supervisor/replies.js';

it('takes well-formed results and refuses anything else', () => {
  expect(executeResult({ index: 7, term: 2, leader: 'n1' })).toEqual({ index: 7, term: 2 });
  for (const bad of [null, {}, { index: -1, term: 2 }, { index: 7, term: '2' }, { index: 1.5, term: 2 }]) expect(executeResult(bad)).toBeNull();
  expect(queryResult({ columns: ['v'], rows: [['a']], truncated: false, index: 3 })).toEqual({ columns: ['v'], rows: [['a']], truncated: false, index: 3 });
  for (const bad of [null, { columns: 'v', rows: [], truncated: false, index: 3 }, { columns: ['v'], rows: ['a'], truncated: false, index: 3 }, { columns: ['v'], rows: [], truncated: 'no', index: 3 }]) {
    expect(queryResult(bad as Record<string, unknown> | null)).toBeNull();
  }
  expect(checksumResult({ index: 4, value: 'abc' })).toEqual({ index: 4, value: 'abc' });
  expect(checksumResult({ index: 4, value: 5 })).toBeNull();
  expect(checksumResult(null)).toBeNull();
});
