// The few differences between the SQL replica-lab's clients send (SQLite's)
// and what PostgreSQL takes, kept small on purpose:
//
// - Parameters: SQLite's `?` becomes PostgreSQL's `$1`, `$2`, … (outside
//   string literals, quoted identifiers and comments).
// - `log_index()`: on replica-lab the Raft index of the entry being applied.
//   Here a SQL function (created at start) returning a WAL position in bytes
//   (what the dashboard shows as LSNs): the end of a small record it writes,
//   so no two calls return the same number.
// - The workload's write (workloadWriteSql) is run as
//     INSERT INTO kv(k, v, idx) VALUES ($1, $2, log_index())
//     ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = log_index()
//     RETURNING idx, pg_current_xact_id()::text AS xid
//   `ON CONFLICT … DO UPDATE` exists in both; the update re-evaluates
//   log_index() once it holds the row lock, i.e. after the previous writer of
//   that key committed, so a key's idx grows in commit order as it does on
//   replica-lab; RETURNING hands the stored idx back as the write's index, so
//   the checker compares like with like. The transaction id is how a lost
//   write is confirmed: its COMMIT record in what pg_rewind removed.
// - The kv table: `k TEXT PRIMARY KEY, v TEXT, idx BIGINT` (SQLite's INTEGER
//   is 64-bit; PostgreSQL's is 32).

import { workloadWriteSql } from '../supervisor/workload-engine.js';

export const pgKvTableSql = 'CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT, idx BIGINT)';
// Each call writes a tiny WAL record of its own (a transactional logical message, which wal_level = replica
// takes) and returns its LSN: unique per call. pg_current_wal_insert_lsn() alone is not: two sessions that
// read it before either wrote got the same number (2 of 1,565 writes in 8 s at concurrency 10), and the
// checker takes (index, timeline) as naming one write.
export const pgLogIndexSql =
  "CREATE OR REPLACE FUNCTION log_index() RETURNS bigint LANGUAGE sql VOLATILE AS $$ SELECT (pg_logical_emit_message(true, 'replica-lab', '') - '0/0'::pg_lsn)::bigint $$";

const pgWorkloadWriteSql = 'INSERT INTO kv(k, v, idx) VALUES ($1, $2, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = log_index() RETURNING idx, pg_current_xact_id()::text AS xid';

export interface Translated {
  readonly text: string;
  /** The write returns the idx it stored (the workload's write): that is its index. */
  readonly returnsIdx: boolean;
}

/** SQLite-style `?` placeholders to `$n`, skipping '…' strings, "…" identifiers, -- and block comments, and $tag$ bodies. */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      const close = sql.indexOf(c, i + 1);
      const end = close === -1 ? sql.length : close + 1;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && next === '-') {
      const close = sql.indexOf('\n', i);
      const end = close === -1 ? sql.length : close + 1;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      const end = close === -1 ? sql.length : close + 2;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      const end = close === -1 ? sql.length : close + tag.length;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '?') {
      out += `$${++n}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export function translate(sql: string): Translated {
  if (sql === workloadWriteSql) return { text: pgWorkloadWriteSql, returnsIdx: true };
  return { text: numberPlaceholders(sql), returnsIdx: false };
}
