// replica-lab's replication words as PostgreSQL settings, one to one:
//
//   mode async            synchronous_standby_names = ''
//   mode sync             synchronous_standby_names = 'FIRST k (s1, …)'  k = every listed standby
//   mode quorum           synchronous_standby_names = 'ANY k (s1, …)'    k = quorum - 1 (the primary counts itself)
//   ackLevel received     synchronous_commit = remote_write
//   ackLevel flushed      synchronous_commit = on
//   ackLevel applied      synchronous_commit = remote_apply
//
// syncTimeoutMs and syncFallback 'async' have no PostgreSQL setting: a commit
// waits for its standbys until they answer or the client cancels (and a
// cancelled wait leaves the commit in place locally). They are refused.

import type { NodeId } from '../core/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { BadRequestError } from '../supervisor/errors.js';

export interface PgReplication {
  readonly synchronousStandbyNames: string;
  readonly synchronousCommit: 'remote_write' | 'on' | 'remote_apply';
}

const ackSetting = { received: 'remote_write', flushed: 'on', applied: 'remote_apply' } as const;

/** Checks settings a PostgreSQL cluster of `ids` can run; throws BadRequestError naming the problem. */
export function checkPgReplication(settings: ReplicationSettings, ids: readonly NodeId[]): ReplicationSettings {
  if (!['async', 'sync', 'quorum'].includes(settings.mode)) throw new BadRequestError(`mode must be async, sync or quorum, got ${String(settings.mode)}`);
  if (!['received', 'flushed', 'applied'].includes(settings.ackLevel)) throw new BadRequestError(`ackLevel must be received, flushed or applied, got ${String(settings.ackLevel)}`);
  if (settings.quorum !== null && (!Number.isInteger(settings.quorum) || settings.quorum < 1 || settings.quorum > ids.length)) {
    throw new BadRequestError(`quorum must be a whole number from 1 to ${ids.length} (the primary counts itself), got ${String(settings.quorum)}`);
  }
  if (settings.syncStandbys !== null) {
    if (!Array.isArray(settings.syncStandbys) || settings.syncStandbys.length === 0) throw new BadRequestError('syncStandbys must name at least one node, or be null for every standby');
    for (const id of settings.syncStandbys) if (!ids.includes(id)) throw new BadRequestError(`syncStandbys: no node ${String(id)}; nodes are ${ids.join(', ')}`);
  }
  if (settings.syncTimeoutMs !== null) throw new BadRequestError('syncTimeoutMs has no PostgreSQL setting: a commit waits for its standbys until they answer or the client cancels it');
  if (settings.syncFallback !== 'block') throw new BadRequestError("syncFallback 'async' has no PostgreSQL setting: a waiting commit never falls back by itself");
  return settings;
}

/** The PostgreSQL settings for `settings` with `primary` leading a cluster of `ids`. */
export function toPg(settings: ReplicationSettings, ids: readonly NodeId[], primary: NodeId): PgReplication {
  const standbys = ids.filter((id) => id !== primary);
  const synchronousCommit = ackSetting[settings.ackLevel];
  if (settings.mode === 'async' || standbys.length === 0) return { synchronousStandbyNames: '', synchronousCommit };
  if (settings.mode === 'sync') {
    const listed = (settings.syncStandbys ?? standbys).filter((id) => id !== primary);
    if (listed.length === 0) return { synchronousStandbyNames: '', synchronousCommit };
    return { synchronousStandbyNames: `FIRST ${listed.length} (${listed.join(', ')})`, synchronousCommit };
  }
  const quorum = settings.quorum ?? Math.floor(ids.length / 2) + 1;
  const k = Math.min(quorum - 1, standbys.length);
  if (k <= 0) return { synchronousStandbyNames: '', synchronousCommit };
  return { synchronousStandbyNames: `ANY ${k} (${standbys.join(', ')})`, synchronousCommit };
}

/** The replica-lab words with the PostgreSQL settings beside them, for a header: "quorum · ANY 1 (n2, n3) | flushed · synchronous_commit = on". */
export function describePg(settings: ReplicationSettings, ids: readonly NodeId[], primary: NodeId): string {
  const pg = toPg(settings, ids, primary);
  const names = pg.synchronousStandbyNames === '' ? "synchronous_standby_names = ''" : pg.synchronousStandbyNames;
  return `${settings.mode} · ${names} | ${settings.ackLevel} · synchronous_commit = ${pg.synchronousCommit}`;
}
