// Which engine the dashboard drives (cluster/engine.ts), and the gate before a
// command only the replica-lab engine has: on another engine such a command is
// one line saying why, never a call that is not there.

import { engineNames, raftCapabilities, type EngineCapabilities, type EngineKind } from '../cluster/engine.js';
import type { ClusterCommand } from './commands/spec.js';
import type { ClusterController, EngineController, RaftController } from './controller.js';

export function engineOf(controller: EngineController): EngineKind {
  return controller.engine ?? 'replica-lab';
}

/** "replica-lab" or "PostgreSQL". */
export function engineName(controller: EngineController): string {
  return engineNames[engineOf(controller)];
}

/** A stand-in without `capabilities` is the replica-lab engine: it has them all. */
export function hasCapability(controller: EngineController, capability: keyof EngineCapabilities): boolean {
  return (controller.capabilities ?? raftCapabilities)[capability];
}

/** The Raft-only commands: the capability each needs, and why PostgreSQL has none of it (a fact of PostgreSQL, or of this lab's engine for it). */
const raftOnly: Partial<Record<ClusterCommand['kind'], { readonly name: string; readonly capability: keyof EngineCapabilities; readonly onPostgres: string }>> = {
  trace: { name: ':trace', capability: 'trace', onPostgres: 'the PostgreSQL engine has no X-ray of one write through its processes' },
  clock: { name: ':clock', capability: 'clock', onPostgres: 'PostgreSQL has no election timers or leases to run fast or slow' },
  'node-fault': { name: ':disk', capability: 'nodeFaults', onPostgres: "the PostgreSQL engine does not slow a server's WAL flush or replay" },
  transfer: { name: ':transfer', capability: 'raft', onPostgres: 'PostgreSQL has no leadership transfer: :promote a standby instead' },
  snapshot: { name: ':snapshot', capability: 'snapshots', onPostgres: 'PostgreSQL has no Raft snapshot: a standby is built by pg_basebackup' },
  retain: { name: ':retain', capability: 'snapshots', onPostgres: 'PostgreSQL has no snapshot policy (its counterpart, max_slot_wal_keep_size, is a server setting)' },
  'add-node': { name: ':add', capability: 'membership', onPostgres: 'PostgreSQL has no voting membership to change' },
  'promote-learner': { name: ':promote-learner', capability: 'membership', onPostgres: 'PostgreSQL has no learners or voters' },
  'remove-node': { name: ':remove', capability: 'membership', onPostgres: 'PostgreSQL has no voting membership to change' },
};

/** The `:` commands that need the replica-lab engine (spec names), for the help on another engine. */
export const raftOnlyCommandNames: readonly string[] = [...new Set(Object.values(raftOnly).flatMap((need) => (need.name === ':disk' ? [':disk', ':apply'] : [need.name])).map((name) => name.slice(1)))];

/** One line when `command` needs what this engine lacks (":trace needs the replica-lab engine: the PostgreSQL engine has no …"); null when it may run. */
export function engineRefusal(controller: EngineController, command: ClusterCommand): string | null {
  const need = raftOnly[command.kind];
  if (need === undefined || hasCapability(controller, need.capability)) return null;
  const name = command.kind === 'node-fault' ? `:${command.fault}` : need.name;
  const why = engineOf(controller) === 'postgres' ? need.onPostgres : `the ${engineName(controller)} engine does not offer it`;
  return `${name} needs the replica-lab engine: ${why}`;
}

type RaftMethod = Exclude<keyof RaftController, 'messages'>;

/** A Raft-only member, once engineRefusal let its command through; a stand-in without it fails that command with a clear message. */
export function raftMember<K extends RaftMethod>(controller: ClusterController, name: K): NonNullable<RaftController[K]> {
  const member = controller[name];
  if (typeof member !== 'function') throw new Error(`this cluster has no ${name}`);
  return (member as (...args: never[]) => unknown).bind(controller) as NonNullable<RaftController[K]>;
}
