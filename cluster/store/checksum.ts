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

/** Bookkeeping left out: the applied position is reported beside the checksum, not inside it. */
const excluded: ReadonlySet<string> = new Set(['_replica_state', 'sqlite_sequence']);

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Feeds one length-prefixed field, so no two different sequences of fields hash alike. */
function field(hash: Hash, tag: string, payload: string | Buffer): void {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  hash.update(`${tag}${bytes.length}:`);
  hash.update(bytes);
}

/** Feeds one SQLite value with its storage class: 1 (INTEGER), 1.0 (REAL) and '1' (TEXT) differ. */
function value(hash: Hash, item: unknown): void {
  if (item === null) field(hash, 'N', '');
  else if (typeof item === 'bigint') field(hash, 'I', item.toString());
  else if (typeof item === 'number') {
    const bits = Buffer.alloc(8);
    bits.writeDoubleBE(item);
    field(hash, 'R', bits);
  } else if (typeof item === 'string') field(hash, 'T', item);
  else if (Buffer.isBuffer(item)) field(hash, 'B', item);
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
 * `_replica_state` (the applied position, reported next to the checksum) and
 * the schema row of `sqlite_sequence`, which SQLite keeps once created.
 */
export function computeChecksum(db: Database.Database): string {
  const hash = createHash('sha256');
  hash.update('replica-lab state v1\n');
  const schema = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name, type').all() as SchemaRow[];
  for (const row of schema.filter((r) => !excluded.has(r.name))) {
    field(hash, 'S', row.type);
    field(hash, 'n', row.name);
    field(hash, 't', row.tbl_name);
    field(hash, 'q', row.sql ?? '');
  }
  const tables = schema.filter((r) => r.type === 'table' && r.name !== '_replica_state' && !/^CREATE\s+VIRTUAL\b/i.test(r.sql ?? ''));
  for (const table of tables) {
    const { select, orderBy } = rowOrder(db, table.name);
    const rows = db.prepare(`SELECT ${select} FROM ${quoteIdentifier(table.name)} ORDER BY ${orderBy}`).raw(true).safeIntegers(true);
    let first = true;
    for (const row of rows.iterate() as IterableIterator<unknown[]>) {
      // Named only once it has a row: an empty sqlite_sequence then hashes like a missing one.
      if (first) field(hash, 'D', table.name);
      first = false;
      hash.update('\n');
      for (const item of row) value(hash, item);
    }
  }
  return hash.digest('hex');
}
