// Finding the acknowledged writes a node rolled back, with the key and value
// its rollback file holds for each, for the labs that lose writes on purpose.

import type { NodeId } from '../../cluster/index.js';
import { writesAcked } from '../analysis.js';
import type { Observation } from '../types.js';

export interface LostWriteDetail {
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly path: string | null;
  /** From the rollback file: the statement's key and value when it names them (workload writes do). */
  readonly key: string | null;
  readonly value: string | null;
  readonly sql: string | null;
}

export function lostWriteDetails(o: Pick<Observation, 'lostWrites' | 'rollbackFiles'>, fromCount = 0): LostWriteDetail[] {
  return o.lostWrites.slice(fromCount).map((lost) => {
    for (const file of o.rollbackFiles) {
      if (file.node !== lost.node) continue;
      const entry = file.entries.find((e) => e.index === lost.index && e.term === lost.term);
      if (entry === undefined) continue;
      const [key, value] = entry.params ?? [];
      const literal = entry.sql === null ? null : /VALUES\s*\(\s*'([^']*)'\s*,\s*'([^']*)'/i.exec(entry.sql);
      return {
        node: lost.node,
        index: lost.index,
        term: lost.term,
        path: file.path,
        key: typeof key === 'string' ? key : (literal?.[1] ?? null),
        value: typeof value === 'string' ? value : (literal?.[2] ?? null),
        sql: entry.sql,
      };
    }
    return { node: lost.node, index: lost.index, term: lost.term, path: null, key: null, value: null, sql: lost.sql };
  });
}

/** "k17 = 'mx1-612' (index 612, term 1)". */
export function describeLost(write: LostWriteDetail): string {
  const what = write.key === null ? (write.sql ?? 'a write') : `${write.key} = '${write.value ?? 'NULL'}'`;
  return `${what} (index ${write.index}, term ${write.term})`;
}

// PostgreSQL keeps no rollback file (pg_rewind overwrites the blocks): a lost write is named from the run's own records.

/** A lost write as a person reads it: the workload's key and value (from the history) or the statement sent through the lab. */
export function describePgLost(o: Pick<Observation, 'history' | 'actions'>, lost: { index: number; term: number; sql: string | null }): string {
  const at = `LSN ${lost.index}, timeline ${lost.term}`;
  const write = writesAcked(o.history).find((w) => w.index === lost.index && w.term === lost.term);
  if (write !== undefined) return `${write.key} = '${write.value}' (${at})`;
  const literal = lost.sql === null ? null : /VALUES\s*\(\s*'([^']*)'\s*,\s*'([^']*)'/i.exec(lost.sql);
  if (literal !== null) return `${literal[1]} = '${literal[2]}' (${at})`;
  return `${lost.sql ?? 'a write'} (${at})`;
}

/** The file pg_waldump's listing of the old primary's WAL is kept in: beside pg_rewind's output (cluster/postgres/README.md). */
export function waldumpPath(rewindLog: string): string {
  return rewindLog.replace(/pg_rewind\.log$/, 'pg_waldump.log');
}
