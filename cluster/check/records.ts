// The history file's vocabulary: one JSON object per line, as a discriminated
// union on `type`, and the strict parser the offline checker reads it with.
// The format is specified in README.md next to this file; a record that does
// not follow it is refused with the line it is on, never guessed at.

import type { Consistency } from '../protocol.js';
import { finalRecordsMax } from './constants.js';
import { printable } from './printable.js';

/** The history format this code writes and reads. */
export const historyFormatVersion = 1;

/**
 * Whether `line` (a file's first line) is how a history replica-lab wrote
 * begins: a `run` record with a format version. Only such a file (or an empty
 * one) is replaced by a new history.
 */
export function isHistoryStart(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return false;
    const { type, version } = value as { type?: unknown; version?: unknown };
    return type === 'run' && typeof version === 'number';
  } catch {
    return false;
  }
}

export type OpFunction = 'write' | 'read';

/** Why a write is indeterminate: the client cannot know whether it took effect. */
export type InfoReason = 'timeout' | 'node-died' | 'stepped-down' | 'unknown';
export const infoReasons: readonly InfoReason[] = ['timeout', 'node-died', 'stepped-down', 'unknown'];

/** Fields every operation record carries, so each line stands on its own. */
interface OpFields {
  /** Unique within the history; the invoke and its completion share it. */
  readonly op: number;
  readonly client: string;
  readonly session: string;
  readonly key: string;
  /** Date.now() in ms. */
  readonly wall: number;
  /** performance.now() in ms of the recording process: the order the checker trusts. */
  readonly mono: number;
}

export interface WriteInvoke extends OpFields {
  readonly type: 'invoke';
  readonly f: 'write';
  /** The node the write was sent to first; null when it waited for a leader. */
  readonly node: string | null;
  /** Unique within the run, so a committed entry can be matched to the write that made it. */
  readonly value: string;
}

export interface ReadInvoke extends OpFields {
  readonly type: 'invoke';
  readonly f: 'read';
  /** The node chosen for a local read; null when the read follows the leader. */
  readonly node: string | null;
  readonly consistency: Consistency;
  /** The index the session asked the node to have applied first; null for none. */
  readonly minIndex: number | null;
}

export interface WriteOk extends OpFields {
  readonly type: 'ok';
  readonly f: 'write';
  /** The leader that acknowledged it. */
  readonly node: string;
  readonly value: string;
  /** The log position of the entry, as the acknowledgement gave it. */
  readonly index: number;
  readonly term: number;
}

export interface ReadOk extends OpFields {
  readonly type: 'ok';
  readonly f: 'read';
  readonly node: string;
  /** The value seen, null when the key was absent. */
  readonly value: string | null;
  /** The row's idx (log index of the write that last changed it), null when absent. */
  readonly idx: number | null;
  /** The node's applied index when it read. */
  readonly appliedIndex: number;
}

/** Definitely did not happen (a write that was refused; any read that got no answer). */
export interface OpFail extends OpFields {
  readonly type: 'fail';
  readonly f: OpFunction;
  readonly node: string | null;
  readonly error: string;
}

/** A write that may or may not have taken effect. Reads are never indeterminate: they change nothing. */
export interface WriteInfo extends OpFields {
  readonly type: 'info';
  readonly f: 'write';
  readonly node: string | null;
  readonly error: string;
  readonly reason: InfoReason;
  /** The log index the write reached, when the error said so. */
  readonly index: number | null;
}

export type OpRecord = WriteInvoke | ReadInvoke | WriteOk | ReadOk | OpFail | WriteInfo;
export type CompletionRecord = WriteOk | ReadOk | OpFail | WriteInfo;

/** The first line of a history written by the workload. */
export interface RunRecord {
  readonly type: 'run';
  readonly version: number;
  readonly wall: number;
  readonly mono: number;
  readonly dataDir: string | null;
  readonly nodes: readonly string[];
  readonly replication: Readonly<Record<string, unknown>> | null;
}

/** The workload's options, at start and at every change. */
export interface WorkloadRecord {
  readonly type: 'workload';
  readonly wall: number;
  readonly mono: number;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Something that happened to the cluster (a fault, an election, a rollback): context for people. */
export interface EventRecord {
  readonly type: 'event';
  readonly wall: number;
  readonly mono: number;
  readonly event: Readonly<Record<string, unknown>> & { readonly type: string };
}

/** One node's state after the run settled. */
export interface FinalRecord {
  readonly type: 'final';
  readonly node: string;
  readonly appliedIndex: number;
  readonly checksum: string;
  /** Every kv row as [k, v, idx], or null when not recorded (too many rows). */
  readonly rows: readonly (readonly [string, string | null, number | null])[] | null;
}

/** Which log the committed records come from, and how far it was committed. */
export interface LogRecord {
  readonly type: 'log';
  readonly node: string;
  readonly commitIndex: number;
  readonly lastIndex: number;
}

/** A workload write in the final committed log. */
export interface CommittedRecord {
  readonly type: 'committed';
  readonly index: number;
  readonly term: number;
  readonly key: string;
  readonly value: string | null;
}

/** A workload write a node rolled back, from its rollback files. */
export interface RolledBackRecord {
  readonly type: 'rolled-back';
  readonly node: string;
  readonly index: number;
  readonly term: number;
  readonly key: string;
  readonly value: string | null;
}

export type FinalStateRecord = FinalRecord | LogRecord | CommittedRecord | RolledBackRecord;
export type HistoryRecord = RunRecord | WorkloadRecord | EventRecord | OpRecord | FinalStateRecord;

/** A history line that cannot be read; `line` is 1-based. */
export class HistoryFormatError extends Error {
  override name = 'HistoryFormatError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`line ${line}: ${detail}`);
  }
}

/** Thrown by the field checks below; turned into a HistoryFormatError with the line. */
class FieldProblem {
  constructor(readonly detail: string) {}
}

type Json = Record<string, unknown>;

function problem(detail: string): never {
  throw new FieldProblem(detail);
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function text(record: Json, name: string): string {
  const value = record[name];
  return typeof value === 'string' ? value : problem(`"${name}" must be a string`);
}

function textOrNull(record: Json, name: string): string | null {
  const value = record[name];
  return value === null || typeof value === 'string' ? value : problem(`"${name}" must be a string or null`);
}

function number(record: Json, name: string): number {
  const value = record[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : problem(`"${name}" must be a number`);
}

function whole(record: Json, name: string): number {
  const value = record[name];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : problem(`"${name}" must be a whole number >= 0`);
}

function wholeOrNull(record: Json, name: string): number | null {
  return record[name] === null ? null : whole(record, name);
}

function oneOf<T extends string>(record: Json, name: string, allowed: readonly T[]): T {
  const value = record[name];
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : problem(`"${name}" must be one of ${allowed.join(', ')}`);
}

function object(record: Json, name: string): Json {
  const value = record[name];
  return isObject(value) ? value : problem(`"${name}" must be an object`);
}

function opFields(record: Json): OpFields {
  return {
    op: whole(record, 'op'),
    client: text(record, 'client'),
    session: text(record, 'session'),
    key: text(record, 'key'),
    wall: number(record, 'wall'),
    mono: number(record, 'mono'),
  };
}

function opRecord(record: Json, type: OpRecord['type']): OpRecord {
  const f = oneOf(record, 'f', ['write', 'read'] as const);
  const base = opFields(record);
  switch (type) {
    case 'invoke':
      return f === 'write'
        ? { type, f, ...base, node: textOrNull(record, 'node'), value: text(record, 'value') }
        : { type, f, ...base, node: textOrNull(record, 'node'), consistency: oneOf(record, 'consistency', ['local', 'linearizable', 'lease'] as const), minIndex: wholeOrNull(record, 'minIndex') };
    case 'ok':
      return f === 'write'
        ? { type, f, ...base, node: text(record, 'node'), value: text(record, 'value'), index: positive(record, 'index'), term: whole(record, 'term') }
        : { type, f, ...base, node: text(record, 'node'), value: textOrNull(record, 'value'), idx: wholeOrNull(record, 'idx'), appliedIndex: whole(record, 'appliedIndex') };
    case 'fail':
      return { type, f, ...base, node: textOrNull(record, 'node'), error: text(record, 'error') };
    case 'info':
      if (f !== 'write') problem('"info" is for writes only: a read that got no answer is "fail"');
      return { type, f, ...base, node: textOrNull(record, 'node'), error: text(record, 'error'), reason: oneOf(record, 'reason', infoReasons), index: wholeOrNull(record, 'index') };
  }
}

function positive(record: Json, name: string): number {
  const value = whole(record, name);
  return value >= 1 ? value : problem(`"${name}" must be >= 1`);
}

function row(value: unknown, i: number): readonly [string, string | null, number | null] {
  const ok = Array.isArray(value) && value.length === 3 && typeof value[0] === 'string' && (value[1] === null || typeof value[1] === 'string') && (value[2] === null || (typeof value[2] === 'number' && Number.isSafeInteger(value[2])));
  return ok ? [value[0] as string, value[1] as string | null, value[2] as number | null] : problem(`"rows"[${i}] must be [key, value or null, idx or null]`);
}

/** A value from the file for an error message: JSON (C0 controls escaped), cut short, the rest of the controls escaped too. */
function shortJson(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return printable(json.length > 60 ? `${json.slice(0, 60)}…` : json, { backslash: false });
}

const recordTypes: readonly HistoryRecord['type'][] = ['run', 'workload', 'event', 'invoke', 'ok', 'fail', 'info', 'final', 'log', 'committed', 'rolled-back'];

/** Checks one parsed line against the format; throws FieldProblem. */
function checkRecord(record: Json): HistoryRecord {
  const given = record['type'];
  if (!(recordTypes as readonly unknown[]).includes(given)) problem(`unknown record type ${shortJson(given ?? null)}; expected one of ${recordTypes.join(', ')}`);
  const type = given as HistoryRecord['type'];
  switch (type) {
    case 'run': {
      const version = whole(record, 'version');
      if (version !== historyFormatVersion) problem(`history format version ${version} is not one this build reads (${historyFormatVersion})`);
      const nodes = record['nodes'];
      if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === 'string')) problem('"nodes" must be a list of node ids');
      const replication = record['replication'];
      return {
        type,
        version,
        wall: number(record, 'wall'),
        mono: number(record, 'mono'),
        dataDir: textOrNull(record, 'dataDir'),
        nodes: nodes as string[],
        replication: replication === null ? null : object(record, 'replication'),
      };
    }
    case 'workload':
      return { type, wall: number(record, 'wall'), mono: number(record, 'mono'), options: object(record, 'options') };
    case 'event': {
      const event = object(record, 'event');
      if (typeof event['type'] !== 'string') problem('"event" must have a "type"');
      return { type, wall: number(record, 'wall'), mono: number(record, 'mono'), event: event as EventRecord['event'] };
    }
    case 'invoke':
    case 'ok':
    case 'fail':
    case 'info':
      return opRecord(record, type);
    case 'final': {
      const rows = record['rows'];
      if (rows !== null && !Array.isArray(rows)) problem('"rows" must be a list or null');
      return { type, node: text(record, 'node'), appliedIndex: whole(record, 'appliedIndex'), checksum: text(record, 'checksum'), rows: rows === null ? null : (rows as unknown[]).map(row) };
    }
    case 'log':
      return { type, node: text(record, 'node'), commitIndex: whole(record, 'commitIndex'), lastIndex: whole(record, 'lastIndex') };
    case 'committed':
      return { type, index: positive(record, 'index'), term: whole(record, 'term'), key: text(record, 'key'), value: textOrNull(record, 'value') };
    case 'rolled-back':
      return { type, node: text(record, 'node'), index: positive(record, 'index'), term: whole(record, 'term'), key: text(record, 'key'), value: textOrNull(record, 'value') };
  }
}

/** Parses one line (1-based `line` for the message). */
export function parseHistoryLine(textLine: string, line: number): HistoryRecord {
  let value: unknown;
  try {
    value = JSON.parse(textLine);
  } catch (error) {
    // JSON.parse quotes the text it choked on: from a file of random bytes, that is raw terminal escapes.
    const why = printable(error instanceof Error ? error.message : String(error), { backslash: false });
    throw new HistoryFormatError(line, `not a JSON object (${why}); is the file truncated or not a history?`);
  }
  if (!isObject(value)) throw new HistoryFormatError(line, 'not a JSON object');
  try {
    return checkRecord(value);
  } catch (error) {
    const known = (recordTypes as readonly unknown[]).includes(value['type']);
    if (error instanceof FieldProblem) throw new HistoryFormatError(line, `${known ? `"${String(value['type'])}" record: ` : ''}${error.detail}`);
    throw error;
  }
}

/**
 * Op numbers seen so far, as sorted runs of consecutive numbers: the workload
 * numbers its operations 1, 2, 3…, so a whole history is a handful of runs,
 * not a set the size of the file.
 */
class OpNumbers {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Adds `op`; false when it was already there. */
  add(op: number): boolean {
    const { starts, ends } = this;
    const last = ends.length - 1;
    if (last < 0 || op > ends[last]! + 1) {
      starts.push(op);
      ends.push(op);
      return true;
    }
    if (op === ends[last]! + 1) {
      ends[last] = op;
      return true;
    }
    // Out of order: the run that starts at or before op, if any.
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= op) lo = mid;
      else hi = mid - 1;
    }
    const i = starts[lo]! <= op ? lo : -1;
    if (i >= 0 && op <= ends[i]!) return false;
    const joinsBefore = i >= 0 && ends[i]! + 1 === op;
    const joinsAfter = i + 1 <= last && starts[i + 1]! - 1 === op;
    if (joinsBefore && joinsAfter) {
      ends[i] = ends[i + 1]!;
      starts.splice(i + 1, 1);
      ends.splice(i + 1, 1);
    } else if (joinsBefore) ends[i] = op;
    else if (joinsAfter) starts[i + 1] = op;
    else {
      starts.splice(i + 1, 0, op);
      ends.splice(i + 1, 0, op);
    }
    return true;
  }
}

/**
 * The strict parser, one line at a time, so a history of any length is read
 * in memory bounded by the operations in flight: blank lines are skipped;
 * every other line must be a record. Operation records must pair up: a
 * completion needs an earlier invoke of the same op, with the same f, client,
 * session and key, and completes it once.
 */
export class HistoryParser {
  private readonly open = new Map<number, OpRecord>();
  private readonly invoked = new OpNumbers();
  private count = 0;
  private finals = 0;

  /** Parses line number `line` (1-based); null for a blank line. Throws HistoryFormatError. */
  line(textLine: string, line: number): HistoryRecord | null {
    if (textLine.trim() === '') return null;
    const record = parseHistoryLine(textLine, line);
    if (record.type === 'invoke') {
      if (!this.invoked.add(record.op)) throw new HistoryFormatError(line, `op ${record.op} is invoked twice`);
      this.open.set(record.op, record);
    } else if (record.type === 'ok' || record.type === 'fail' || record.type === 'info') {
      const invoke = this.open.get(record.op);
      if (invoke === undefined) throw new HistoryFormatError(line, `"${record.type}" for op ${record.op}, which has no open invoke before it`);
      if (invoke.f !== record.f || invoke.client !== record.client || invoke.session !== record.session || invoke.key !== record.key) {
        throw new HistoryFormatError(line, `"${record.type}" for op ${record.op} does not match its invoke (f, client, session and key must be the same)`);
      }
      this.open.delete(record.op);
    } else if (record.type === 'final' && ++this.finals > finalRecordsMax) {
      throw new HistoryFormatError(line, `more than ${finalRecordsMax} "final" records: a final state has one per node`);
    }
    this.count++;
    return record;
  }

  /** Records parsed so far. */
  records(): number {
    return this.count;
  }

  /** After the last line: a file with no record at all is not a history. */
  end(): void {
    if (this.count === 0) throw new HistoryFormatError(1, 'the file is empty: no history was recorded');
  }
}

/** Parses a whole history held in memory (see HistoryParser); check streams files instead. */
export function parseHistory(content: string): HistoryRecord[] {
  const parser = new HistoryParser();
  const records: HistoryRecord[] = [];
  content.split('\n').forEach((textLine, i) => {
    const record = parser.line(textLine, i + 1);
    if (record !== null) records.push(record);
  });
  return records;
}
