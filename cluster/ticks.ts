// Milliseconds become ticks here and nowhere else: the supervisor checks a
// configuration in ticks before it spawns anything, and each node converts
// the same way when it builds its core.

import type { ReplicationConfig } from './core/index.js';
import type { ReplicationSettings } from './protocol.js';

/** Milliseconds to whole ticks (at least one). */
export function toTicks(ms: number, tickMs: number): number {
  return Math.max(1, Math.round(ms / tickMs));
}

/** The replication settings in ticks, as the core takes them. */
export function replicationTicks(settings: ReplicationSettings, tickMs: number): ReplicationConfig {
  return {
    mode: settings.mode,
    ackLevel: settings.ackLevel,
    quorum: settings.quorum,
    syncStandbys: settings.syncStandbys,
    syncTimeoutTicks: settings.syncTimeoutMs === null ? null : toTicks(settings.syncTimeoutMs, tickMs),
    syncFallback: settings.syncFallback,
  };
}
