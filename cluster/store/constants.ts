// Every limit of the store in one place (TigerBeetle style): a statement, its
// parameters, a query's answer and the caches are bounded, so one client
// cannot grow a node's memory without limit.

/** UTF-8 bytes of one statement's SQL text. */
export const statementBytesMax = 64 * 1024;
/**
 * Bytes one function call may generate from a size argument (zeroblob,
 * randomblob, a printf width or precision): the WAL's largest record
 * (wal/constants.ts recordBytesMax), the most a write could carry as a parameter.
 */
export const generatedBytesMax = 16 * 1024 * 1024;
/**
 * Row sources one FROM clause may join (tables, views, subqueries, VALUES
 * lists, counting those inside its subqueries and CTEs): a join runs through
 * the product of its sources' rows, and a running statement cannot be
 * interrupted (bounds.ts). Ten 10-row VALUES lists cross-joined wedged a node.
 */
export const joinSourcesMax = 4;
/** The product of the row counts a FROM clause's VALUES lists give (tables count 1: their size is not in the text). */
export const joinRowsMax = 1_000_000;
/** Parameters bound to one statement. */
export const paramsMax = 1_000;
/** Rows one query returns; more are cut off and the answer says `truncated`. */
export const queryRowsMax = 10_000;
/**
 * Bytes of values one query returns (strings as UTF-8, blobs, 8 a number):
 * past it the answer is cut and says `truncated`, so a reply fits one wire frame
 * (wire/frames.ts frameBytesMax, 64 MiB) with room for JSON's escapes.
 */
export const queryBytesMax = 16 * 1024 * 1024;
/** Texts each per-text memo (memo.ts) is sure to hold: the last this many distinct ones asked for (it keeps at most twice as many). */
export const statementCacheMax = 256;
/** The page size of a new state.db (Store.open says why it is not SQLite's 4 KiB default). */
export const statePageBytes = 1024;
/** Version of the state.db layout, kept in SQLite's `user_version`. */
export const storeFormatVersion = 1;
/**
 * The row combinations one statement's joins may walk, from the tables' sizes
 * at apply (row-bound.ts), since a running statement cannot be interrupted.
 * Measured on the 2-core dev machine (Node 20, SQLite 3.53.2): a count(*) over
 * a 300-row table cross-joined three times (27,000,000 combinations) took
 * 0.16-0.22 s bare (~120-165 M/s), and 1.59 s with a WHERE doing per-row work
 * (`WHERE a.v || b.v || c.v <> ''`, ~17 M/s). 20 M is ~1.2 s at the slower
 * rate: at most ~1-2 s of blocked event loop.
 */
export const joinCombinationsMax = 20_000_000;
