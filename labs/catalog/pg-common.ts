// Small pieces the PostgreSQL variants of the labs share (kept apart from
// the labs' own files, which import their variants: no import cycle).

import { toPg } from '../../cluster/postgres/replication.js';
import type { Observation } from '../types.js';

/** synchronous_standby_names as the primary has it now, quoted as a person would type it. */
export function standbyNames(o: Pick<Observation, 'replication' | 'status' | 'leader'>): string {
  if (o.leader === null) return 'synchronous_standby_names (no primary)';
  const names = toPg(o.replication, o.status.map((n) => n.id), o.leader).synchronousStandbyNames;
  return `synchronous_standby_names = '${names}'`;
}
