// The store's errors. A user can cause a StatementError (bad SQL, a write sent
// as a query); a MalformedEntryError means an entry's payload is not what
// encodeStatement writes; a StoreAssertionError is a bug and crashes the node.

/** What is wrong with a statement, for code that reacts to it; the message is for people. */
export type StatementProblem =
  | 'empty' // no statement at all
  | 'too-large' // longer than statementBytesMax, or more than paramsMax parameters
  | 'multiple-statements' // more than one statement in one call
  | 'syntax' // SQLite cannot parse it
  | 'invalid' // SQLite parses it but rejects it whatever the schema (unknown function, …)
  | 'non-deterministic' // would give a different result on different nodes
  | 'forbidden' // transaction control, connection-level, or breaks the store's transaction
  | 'internal-table' // touches the store's own `_replica_*` tables
  | 'read-only' // a read sent to execute(): use query()
  | 'not-read-only' // a write sent to query(): use execute()
  | 'params' // wrong number or kind of parameters
  | 'unbounded' // could run without end or build an oversized value (bounds.ts)
  | 'failed'; // a query that SQLite rejected or that failed while running

/** A statement a person must change before it can run; the message says how. */
export class StatementError extends Error {
  override name = 'StatementError';
  readonly kind = 'bad-statement';
  constructor(
    readonly problem: StatementProblem,
    message: string,
  ) {
    super(message);
  }
}

/** An entry whose `data` is not a statement encoded by encodeStatement. */
export class MalformedEntryError extends Error {
  override name = 'MalformedEntryError';
  readonly kind = 'malformed-entry';
}

/** Raised when an invariant of the store breaks: a bug, never user input. */
export class StoreAssertionError extends Error {
  override name = 'StoreAssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new StoreAssertionError(`assertion failed: ${message}`);
}
