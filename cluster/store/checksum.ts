// The digest two replicas compare to find divergence: equal state at the same
// applied index gives the same hex string, and any difference a read could
// see (a row, a value's type, a schema object) changes it.

import { createHash, type Hash } from 'node:crypto';
import type Database from 'better-sqlite3';

interface SchemaRow {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string | null;
}

/**
 * Bookkeeping left out: the applied position is reported beside the checksum,
 * not inside it, and which rollback files this node wrote is its own history.
 */
const excluded: ReadonlySet<string> = new Set(['_replica_state', '_replica_rollbacks', 'sqlite_sequence']);

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Feeds the hash in large pieces: text is gathered into one string and handed
 * over every `pendingCharsMax` characters, because one native update per
 * field (the first version) made a 10,000-row checksum take ~20 ms, a stall
 * that showed as a replay-lag spike on every node once a second. The bytes
 * hashed are the same as feeding each piece on its own.
 */
class HashFeed {
  private pending = '';
  constructor(private readonly hash: Hash) {}

  text(text: string): void {
    this.pending += text;
    if (this.pending.length >= pendingCharsMax) this.flush();
  }

  bytes(bytes: Buffer): void {
    this.flush();
    this.hash.update(bytes);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.hash.update(this.pending, 'utf8');
    this.pending = '';
  }
}

const pendingCharsMax = 64 * 1024;

/** Feeds one length-prefixed field, so no two different sequences of fields hash alike. */
function field(feed: HashFeed, tag: string, payload: string | Buffer): void {
  if (typeof payload === 'string') {
    feed.text(`${tag}${Buffer.byteLength(payload, 'utf8')}:${payload}`);
  } else {
    feed.text(`${tag}${payload.length}:`);
    feed.bytes(payload);
  }
}

const realBits = Buffer.alloc(8);

/** Feeds one SQLite value with its storage class: 1 (INTEGER), 1.0 (REAL) and '1' (TEXT) differ. */
function value(feed: HashFeed, item: unknown): void {
  if (item === null) field(feed, 'N', '');
  else if (typeof item === 'bigint') field(feed, 'I', item.toString());
  else if (typeof item === 'number') {
    realBits.writeDoubleBE(item);
    field(feed, 'R', realBits);
  } else if (typeof item === 'string') field(feed, 'T', item);
  else if (Buffer.isBuffer(item)) field(feed, 'B', item);
  else throw new TypeError(`unexpected SQLite value ${String(item)}`);
}

/** An ORDER BY that lists a table's rows in a fixed order: rowid, or the primary key of a WITHOUT ROWID table. */
function rowOrder(db: Database.Database, table: string): { select: string; orderBy: string } {
  const columns = db.prepare('SELECT name, pk FROM pragma_table_xinfo(?) ORDER BY cid').all(table) as { name: string; pk: number }[];
  const withoutRowid = (db.prepare("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?").get(table) as { wr: number }).wr === 1;
  if (withoutRowid) {
    const key = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    return { select: '*', orderBy: key.map((c) => quoteIdentifier(c.name)).join(', ') };
  }
  const taken = new Set(columns.map((c) => c.name.toLowerCase()));
  const rowid = ['rowid', '_rowid_', 'oid'].find((alias) => !taken.has(alias));
  // Every rowid alias shadowed by a column: order by all columns; rows that tie are identical.
  if (rowid === undefined) return { select: '*', orderBy: columns.map((_, i) => String(i + 1)).join(', ') };
  return { select: `${rowid}, *`, orderBy: rowid };
}

/**
 * sha256 over the schema (every table, index, view and trigger by name, with
 * its SQL) and the rows of every table in name order, rows in rowid or primary
 * key order. Included: kv, user tables, `_replica_requests` (it decides whether
 * a retried request is applied again) and AUTOINCREMENT counters. Left out:
 * `_replica_state` (the applied position, reported next to the checksum),
 * `_replica_rollbacks` (the rollback files this node wrote) and the schema row of `sqlite_sequence`, which SQLite keeps once created.
 */
export function computeChecksum(db: Database.Database): string {
  const steps = checksumSteps(db);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Rows hashed between two yields of checksumSteps: about a millisecond of work. */
export const checksumRowsPerStep = 1_000;

/**
 * computeChecksum as steps: it yields after every `checksumRowsPerStep` rows
 * and returns the digest, so a caller holding a read snapshot can spread one
 * checksum over many event-loop turns. Every statement runs between yields,
 * none stays open across one except the row iterator of the table in hand.
 */
export function* checksumSteps(db: Database.Database): Generator<void, string, void> {
  const hash = createHash('sha256');
  const feed = new HashFeed(hash);
  feed.text('replica-lab state v1\n');
  const schema = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name, type').all() as SchemaRow[];
  for (const row of schema.filter((r) => !excluded.has(r.name))) {
    field(feed, 'S', row.type);
    field(feed, 'n', row.name);
    field(feed, 't', row.tbl_name);
    field(feed, 'q', row.sql ?? '');
  }
  const tables = schema.filter((r) => r.type === 'table' && r.name !== '_replica_state' && r.name !== '_replica_rollbacks' && !/^CREATE\s+VIRTUAL\b/i.test(r.sql ?? ''));
  let sinceYield = 0;
  for (const table of tables) {
    const { select, orderBy } = rowOrder(db, table.name);
    const rows = db.prepare(`SELECT ${select} FROM ${quoteIdentifier(table.name)} ORDER BY ${orderBy}`).raw(true).safeIntegers(true);
    let first = true;
    for (const row of rows.iterate() as IterableIterator<unknown[]>) {
      // Named only once it has a row: an empty sqlite_sequence then hashes like a missing one.
      if (first) field(feed, 'D', table.name);
      first = false;
      feed.text('\n');
      for (const item of row) value(feed, item);
      if (++sinceYield >= checksumRowsPerStep) {
        sinceYield = 0;
        yield;
      }
    }
  }
  feed.flush();
  return hash.digest('hex');
}
