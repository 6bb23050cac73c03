// The client limits on their own: they are derived from the WAL's record
// size so that a write within them always makes a record the WAL accepts,
// and each refusal names the limit and the size.

import { describe, expect, it } from 'vitest';
import { clientIdBytesMax, clientIdProblem, jsonBytes, paramsBytesMax, paramsJsonBytes, requestIdProblem, statementBytesMax, statementLimitProblem } from '../../cluster/limits.js';
import { encodeStatement } from '../../cluster/store/index.js';
import { recordBytes } from '../../cluster/wal/record.js';

describe('limits', () => {
  it('counts JSON bytes exactly as JSON.stringify writes them', () => {
    for (const value of ['', 'plain', 'quote " and \\ back', '\n\t\r\b\f', '\u0001\u001f', 'é€😀', 'lone \uD800 and \uDC00', 0, -1.5, 1e21, null]) {
      expect(jsonBytes(value), JSON.stringify(value)).toBe(Buffer.byteLength(JSON.stringify(value)));
    }
    const params = ['a', 1, null, 'x"y'];
    expect(paramsJsonBytes(params)).toBe(Buffer.byteLength(JSON.stringify(params)));
    expect(paramsJsonBytes([])).toBe(2);
  });

  it('lets the largest write within every limit make a record the WAL accepts', () => {
    // The worst case: a statement of control characters (each escaped to 6 bytes), a full client id, parameters at the limit.
    const sql = '\u0001'.repeat(statementBytesMax);
    const param = 'p'.repeat(paramsBytesMax - 2 - 2);
    expect(paramsJsonBytes([param])).toBe(paramsBytesMax);
    expect(statementLimitProblem(sql, [param])).toBeNull();
    const client = 'c'.repeat(clientIdBytesMax);
    expect(clientIdProblem(client)).toBeNull();
    const entry = { index: 1, term: 1, kind: 'config' as const, data: encodeStatement(sql, [param]), client, request: 1 };
    expect(() => recordBytes(entry)).not.toThrow();
  });

  it('names the limit and the size', () => {
    expect(statementLimitProblem('é'.repeat(40_000), [])).toBe(`the statement is 80000 bytes, over the limit of ${statementBytesMax} bytes (statementBytesMax); pass large values as ? parameters`);
    expect(statementLimitProblem('x', ['p'.repeat(paramsBytesMax)])).toBe(`the parameters are ${paramsBytesMax + 4} bytes as the log encodes them, over the limit of ${paramsBytesMax} bytes (paramsBytesMax)`);
    expect(statementLimitProblem('x', ['ok', 'a\uDFFFb'])).toContain('parameter 2 is not well-formed UTF-16: a lone surrogate at character 1');
    expect(clientIdProblem('é'.repeat(600))).toBe(`the client id is 1200 bytes, over the limit of ${clientIdBytesMax} bytes (clientIdBytesMax)`);
    expect(clientIdProblem('ab\uD800')).toContain('the client id is not well-formed UTF-16: a lone surrogate at character 2');
    expect(requestIdProblem(7)).toBeNull();
    expect(requestIdProblem(-1)).toContain('requestIdMax');
    expect(requestIdProblem(2 ** 53)).toContain('requestIdMax');
  });
});
