// The 'sql' entry payload: what the leader encodes is exactly what every replica decodes.

import { describe, expect, it } from 'vitest';
import { decodeStatement, encodeStatement, MalformedEntryError, StatementError } from '../../cluster/store/index.js';

describe('encodeStatement / decodeStatement', () => {
  it('round-trips the statement and its JSON scalar parameters, booleans as 0 and 1', () => {
    const data = encodeStatement('INSERT INTO kv VALUES (?, ?, ?)', ['a', -1.5, null]);
    expect(JSON.parse(data)).toEqual({ sql: 'INSERT INTO kv VALUES (?, ?, ?)', params: ['a', -1.5, null] });
    expect(decodeStatement(data)).toEqual({ sql: 'INSERT INTO kv VALUES (?, ?, ?)', params: ['a', -1.5, null] });
    expect(decodeStatement(encodeStatement('SELECT ?, ?', [true, false])).params).toEqual([1, 0]);
    expect(decodeStatement(encodeStatement('DELETE FROM kv')).params).toEqual([]);
  });

  it.each([
    [{}, /parameter 1 is object/],
    [[1], /parameter 1 is object/],
    [Number.NaN, /parameter 1 is NaN/],
    [Number.POSITIVE_INFINITY, /parameter 1 is Infinity/],
    [undefined, /parameter 1 is undefined/],
    [10n, /as a string/],
  ])('refuses the parameter %s with a typed error', (param, message) => {
    expect(() => encodeStatement('SELECT ?', [param])).toThrow(StatementError);
    expect(() => encodeStatement('SELECT ?', [param])).toThrow(message);
  });

  it.each([
    ['not json', /not JSON/],
    ['[]', /JSON object/],
    ['null', /JSON object/],
    ['{"sql":"SELECT 1"}', /exactly the keys sql and params/],
    ['{"sql":"SELECT 1","params":[],"extra":1}', /exactly the keys/],
    ['{"sql":1,"params":[]}', /"sql" must be a string/],
    ['{"sql":"SELECT ?","params":"a"}', /array/],
    ['{"sql":"SELECT ?","params":[{"a":1}]}', /JSON scalars/],
  ])('refuses malformed data %s', (data, message) => {
    expect(() => decodeStatement(data)).toThrow(MalformedEntryError);
    expect(() => decodeStatement(data)).toThrow(message);
  });

  it.each([
    ['{"params":["a"],"x":1}', 'sql'],
    ['{"sql":"SELECT ?","x":1}', 'params'],
  ])('reads only own keys: an inherited %s is not taken for the missing key', (data, key) => {
    // A polluted prototype must not stand in for a key the entry lacks (non-enumerable, so only a lookup would see it).
    Object.defineProperty(Object.prototype, key, { value: key === 'sql' ? 'DROP TABLE kv' : ['x'], configurable: true, enumerable: false, writable: true });
    try {
      expect(() => decodeStatement(data)).toThrow(/exactly the keys sql and params/);
    } finally {
      delete (Object.prototype as Record<string, unknown>)[key];
    }
  });

  it('decodes a payload with a __proto__ key as malformed, not as its prototype', () => {
    expect(() => decodeStatement('{"sql":"SELECT 1","params":[],"__proto__":{}}')).toThrow(/exactly the keys/);
  });
});
