// The payload of a 'sql' entry: the statement and its parameters as JSON. The
// leader encodes it once; every replica decodes the same bytes, so what runs is
// identical everywhere.

import { paramsMax } from './constants.js';
import { MalformedEntryError, StatementError } from './errors.js';

/** A parameter as stored in the log: JSON scalars only (booleans become 0 and 1). */
export type SqlParam = string | number | null;

export interface Statement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

/** Checks one parameter a client gave: a problem for people, or the value as the log stores it. */
function normalizeParam(value: unknown, position: number): SqlParam | StatementError {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const shown = typeof value === 'number' ? String(value) : typeof value;
  return new StatementError(
    'params',
    `parameter ${position} is ${shown}: parameters must be JSON scalars (string, finite number, boolean or null)` +
      (typeof value === 'bigint' ? '; pass a large integer as a string' : ''),
  );
}

/** Turns client parameters into log parameters, or says which one is wrong. */
export function normalizeParams(params: unknown): SqlParam[] | StatementError {
  if (!Array.isArray(params)) return new StatementError('params', 'parameters must be an array of values, one per ? placeholder');
  if (params.length > paramsMax) {
    return new StatementError('too-large', `${params.length} parameters is more than the ${paramsMax} one statement may take`);
  }
  const normalized: SqlParam[] = new Array<SqlParam>(params.length);
  for (let offset = 0; offset < params.length; offset++) {
    const param = normalizeParam(params[offset], offset + 1);
    if (param instanceof StatementError) return param;
    normalized[offset] = param;
  }
  return normalized;
}

/** The entry payload for a write; throws StatementError when a parameter is not a JSON scalar. */
export function encodeStatement(sql: string, params: readonly unknown[] = []): string {
  if (typeof sql !== 'string') throw new StatementError('syntax', 'the statement must be a string of SQL');
  const normalized = normalizeParams(params);
  if (normalized instanceof StatementError) throw normalized;
  return JSON.stringify({ sql, params: normalized });
}

/** Reads an entry payload back; throws MalformedEntryError when it is not what encodeStatement writes. */
export function decodeStatement(data: string): Statement {
  return scanStatement(data) ?? parseStatement(data);
}

const sqlHead = '{"sql":"';
const paramsKey = '","params":';
/** A JSON number, as JSON's grammar has it (no leading zeros, no bare dot, no plus sign). */
const jsonNumber = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** Characters that make a JSON string need more than a slice: an escape, or a control character JSON forbids raw. */
const needsParse = /[\\\u0000-\u001f]/;

/**
 * The statement of a payload exactly as encodeStatement writes the common
 * case: {"sql":"<text>","params":[<scalars>]} with no escape in any string
 * and no space. Every replica decodes every entry it applies, and JSON.parse
 * makes each short string (a parameter such as 'k42') a V8 internalized
 * string: a string-table lookup and insert per value, which was 4-5% of a
 * follower's CPU at 64 clients. Slicing the strings out skips that. Null for
 * anything else, which JSON.parse then reads (and names the problem).
 */
function scanStatement(data: string): Statement | null {
  if (!data.startsWith(sqlHead) || data.charCodeAt(data.length - 1) !== 0x7d /* } */) return null;
  const close = data.indexOf('"', sqlHead.length);
  if (close < 0 || !data.startsWith(paramsKey, close)) return null;
  const sql = data.slice(sqlHead.length, close);
  if (needsParse.test(sql)) return null;
  const params = scanParams(data, close + paramsKey.length, data.length - 1);
  return params === null ? null : { sql, params };
}

/** The JSON array of log parameters that spans exactly [at, end) of `text`, or null when it is not a plain one. */
function scanParams(text: string, at: number, end: number): SqlParam[] | null {
  if (text.charCodeAt(at) !== 0x5b /* [ */) return null;
  const params: SqlParam[] = [];
  let i = at + 1;
  if (text.charCodeAt(i) === 0x5d /* ] */) return i + 1 === end ? params : null;
  for (;;) {
    if (params.length >= paramsMax) return null;
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const close = text.indexOf('"', i + 1);
      if (close < 0 || close >= end) return null;
      const value = text.slice(i + 1, close);
      if (needsParse.test(value)) return null;
      params.push(value);
      i = close + 1;
    } else if (c === 0x6e /* n */) {
      if (!text.startsWith('null', i)) return null;
      params.push(null);
      i += 4;
    } else {
      jsonNumber.lastIndex = i;
      const match = jsonNumber.exec(text);
      if (match === null) return null;
      const value = Number(match[0]);
      if (!Number.isFinite(value)) return null;
      params.push(value);
      i += match[0].length;
    }
    const next = text.charCodeAt(i);
    if (next === 0x2c /* , */) i++;
    else if (next === 0x5d /* ] */) return i + 1 === end ? params : null;
    else return null;
  }
}

/**
 * decodeStatement through JSON.parse alone: any payload, with the problem
 * named when it is not a statement. Exported as the reference the fast path
 * must agree with (the tests compare the two).
 */
export function parseStatement(data: string): Statement {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (error) {
    throw new MalformedEntryError(`entry data is not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedEntryError('entry data must be a JSON object { "sql": string, "params": [...] }');
  }
  const keys = Object.keys(parsed);
  if (keys.length !== 2 || !Object.hasOwn(parsed, 'sql') || !Object.hasOwn(parsed, 'params')) {
    throw new MalformedEntryError(`entry data must have exactly the keys sql and params, not ${keys.sort().join(',') || 'none'}`);
  }
  const { sql, params } = parsed as { sql: unknown; params: unknown };
  if (typeof sql !== 'string') throw new MalformedEntryError('entry data: "sql" must be a string');
  const normalized = normalizeParams(params);
  if (normalized instanceof StatementError) throw new MalformedEntryError(`entry data: ${normalized.message}`);
  return { sql, params: normalized };
}

/**
 * The values handed to better-sqlite3. It binds every JS number as a REAL, so 1
 * would be stored as '1.0' in a TEXT column; an integral number is bound as an
 * INTEGER instead, as rqlite and the SQLite shell do.
 */
export function bindable(params: readonly SqlParam[]): (string | number | bigint | null)[] {
  return params.map((value) => (typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value));
}
