// Finding the acknowledged writes a node rolled back, with the key and value
// its rollback file holds for each, for the labs that lose writes on purpose.

import type { NodeId } from '../../cluster/index.js';
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
