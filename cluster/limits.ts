// What a client may send and what a peer may say, in one place. The client
// limits are derived from the WAL's record limit (cluster/wal/constants.ts), so
// a write that passes them always makes a record the WAL accepts: nothing a
// client sends can crash the node that proposes it. The Cluster API checks
// them before sending (a BadStatementError or BadRequestError at once), and
// the node checks them again before proposing (a raw client on the socket
// bypasses the API), answering with a typed 'bad-statement' reply. The peer
// bounds are checked at the link (cluster/protocol.ts raftMessage).

import { statementBytesMax as storeStatementBytesMax } from './store/constants.js';
import { termMax as coreTermMax } from './core/constants.js';
import { clientBytesMax, positionMax, recordBytesMax, recordHeaderBytes } from './wal/constants.js';

/** UTF-8 bytes of one statement's SQL text (the store's limit). */
export const statementBytesMax = storeStatementBytesMax;
/** UTF-8 bytes of a client id (`execute`'s `client` option); the WAL's field holds up to 65,535. */
export const clientIdBytesMax = 1024;
/** Largest request id (`execute`'s `request` option): a whole number from 0 that a double holds exactly. */
export const requestIdMax = Number.MAX_SAFE_INTEGER;

const mib = 1024 * 1024;
/** Bytes a statement's SQL takes in the log's JSON at most: each byte may be escaped as \u00XX, plus the quotes. */
const statementJsonBytesMax = 6 * statementBytesMax + 2;
/** `{"sql":` + `,"params":` + `}`, around the two encoded parts of an entry's data. */
const payloadFramingBytes = 18;
/** The longest entry kind ('config'). */
const kindBytesMax = 6;

/**
 * Bytes of a statement's parameters as the log encodes them (JSON): what is
 * left of a record once the header, the kind, the longest client id and the
 * longest statement are counted, rounded down to whole MiB (15 MiB).
 */
export const paramsBytesMax = Math.floor((recordBytesMax - recordHeaderBytes - kindBytesMax - clientIdBytesMax - payloadFramingBytes - statementJsonBytesMax) / mib) * mib;

if (paramsBytesMax <= 0 || clientIdBytesMax > clientBytesMax) throw new Error('assertion failed: the client limits fit one WAL record');

/**
 * Terms and indexes a peer may name: below 2^40, far below the WAL's 48-bit
 * fields and Number.MAX_SAFE_INTEGER. Raft lets any higher term through (a
 * node that was partitioned away may come back with a much higher one), so the
 * bound is absolute rather than relative to the receiver's term: a million
 * elections a second would take 12 days to reach it.
 */
export const peerPositionMax = 2 ** 40 - 1;

if (peerPositionMax >= positionMax) throw new Error('assertion failed: a peer position fits a WAL record');

/**
 * Terms: a term any peer names may be taken as Raft says (a partitioned node
 * back with a higher term, a node down for long catching up) up to 2^39.
 * Above that, a node takes a peer's term only within peerTermStepMax of its
 * own (elections it may have missed). So no single message can move a node
 * (and, by the heartbeats and votes that follow, the cluster) past
 * 2^39 + 65,536, which leaves over 5.4 * 10^11 elections before termMax
 * (2^40 - 1, the core's own limit, equal to peerPositionMax: a core never
 * campaigns past what its peers accept): at ten elections a second, 1,700
 * years. Honest clusters never get near 2^39: that too is 1,700 years of
 * elections. The check needs the receiver's term, so it is the host's
 * (peerMessageProblem in cluster/node/host.ts): dropped and counted as
 * malformed, never stepped into the core nor persisted.
 */
export const peerTermAdoptMax = 2 ** 39;
/** How far above its own term a node above peerTermAdoptMax takes a peer's term. */
export const peerTermStepMax = 2 ** 16;

if (coreTermMax !== peerPositionMax || coreTermMax - (peerTermAdoptMax + peerTermStepMax) < 2 ** 38) {
  throw new Error('assertion failed: a core never campaigns past the terms peers accept, and a peer leaves it room for elections');
}

/** Why a peer's term is refused by a node at term `own`, or null. */
export function peerTermProblem(own: number, term: number): string | null {
  if (term <= peerTermAdoptMax || term <= own + peerTermStepMax) return null;
  return `term ${term} is above ${peerTermAdoptMax} (peerTermAdoptMax) and more than ${peerTermStepMax} (peerTermStepMax) above this node's term ${own}: it would leave too few terms for the elections after it`;
}

/** False when `text` holds a lone surrogate: UTF-8 cannot carry it, the log would store U+FFFD instead. */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Bytes `JSON.stringify(value)` produces for a string, a number or null, without building it. */
export function jsonBytes(value: string | number | null): number {
  if (value === null) return 4;
  if (typeof value === 'number') return String(value).length;
  let bytes = 2;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x22 || code === 0x5c || code === 0x08 || code === 0x0c || code === 0x0a || code === 0x0d || code === 0x09) bytes += 2;
    else if (code < 0x20) bytes += 6;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length && value.charCodeAt(i + 1) >= 0xdc00 && value.charCodeAt(i + 1) <= 0xdfff) {
      bytes += 4;
      i++;
    } else if (code >= 0xd800 && code <= 0xdfff) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}

/** Bytes of an array of parameters as JSON. */
export function paramsJsonBytes(params: readonly (string | number | null)[]): number {
  let bytes = 2 + Math.max(0, params.length - 1);
  for (const param of params) bytes += jsonBytes(param);
  return bytes;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (code >= 0xdc00 && code <= 0xdfff) return i;
  }
  return -1;
}

function malformedText(what: string, text: string): string {
  return `${what} is not well-formed UTF-16: a lone surrogate at character ${loneSurrogateAt(text)}; the log stores UTF-8, which cannot carry it`;
}

/**
 * What is wrong with a statement's SQL text and parameters as limits see them
 * (size, well-formed text), or null. The same words on both sides: the
 * Cluster API's BadStatementError and the node's 'bad-statement' reply.
 * Parameters are assumed to be JSON scalars already (checked elsewhere).
 */
export function statementLimitProblem(sql: string, params: readonly (string | number | null)[]): string | null {
  // Characters first: a string longer than the limit in characters is over it in bytes too, and is not measured whole.
  if (sql.length > statementBytesMax) return `the statement is ${sql.length} characters, over the limit of ${statementBytesMax} bytes (statementBytesMax); pass large values as ? parameters`;
  const sqlBytes = utf8Bytes(sql);
  if (sqlBytes > statementBytesMax) return `the statement is ${sqlBytes} bytes, over the limit of ${statementBytesMax} bytes (statementBytesMax); pass large values as ? parameters`;
  if (!isWellFormed(sql)) return malformedText('the statement', sql);
  for (const [i, param] of params.entries()) {
    if (typeof param === 'string' && !isWellFormed(param)) return malformedText(`parameter ${i + 1}`, param);
  }
  const bytes = paramsJsonBytes(params);
  if (bytes > paramsBytesMax) return `the parameters are ${bytes} bytes as the log encodes them, over the limit of ${paramsBytesMax} bytes (paramsBytesMax)`;
  return null;
}

/** What is wrong with a write's client id, or null. */
export function clientIdProblem(client: string): string | null {
  if (client.length > clientIdBytesMax) return `the client id is ${client.length} characters, over the limit of ${clientIdBytesMax} bytes (clientIdBytesMax)`;
  const bytes = utf8Bytes(client);
  if (bytes > clientIdBytesMax) return `the client id is ${bytes} bytes, over the limit of ${clientIdBytesMax} bytes (clientIdBytesMax)`;
  if (!isWellFormed(client)) return malformedText('the client id', client);
  return null;
}

/** What is wrong with a write's request id, or null. */
export function requestIdProblem(request: unknown): string | null {
  if (typeof request === 'number' && Number.isSafeInteger(request) && request >= 0) return null;
  return `the request id must be a whole number from 0 to ${requestIdMax} (requestIdMax), not ${typeof request === 'number' ? String(request) : typeof request}`;
}
