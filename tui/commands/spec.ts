// Every command the `:` line understands, as data: the help overlay lists
// them, completion offers their words, the parser checks them.

import type { NodeId, ReplicationSettings, WorkloadOptions } from '../../cluster/index.js';
import type { LinkOptions } from '../../cluster/index.js';

/** Clients an open loop of `rate` ops/s gets from the dashboard: enough to serve it at 10 ms an operation, and never fewer than the default 16. */
export function clientsForRate(rate: number): number {
  return Math.min(1_024, Math.max(16, Math.ceil(rate / 100)));
}

/** The workload change for a new rate, with the clients to serve it, and how the dashboard says it. */
export function rateCommand(rate: number): Extract<Command, { kind: 'workload' }> {
  const clients = clientsForRate(rate);
  return { kind: 'workload', change: { rate, concurrency: clients }, description: `workload rate ${rate} ops/s (${clients} clients)` };
}

/** What one command asks of the cluster (or of the dashboard itself). */
export type Command =
  | { readonly kind: 'kill' | 'restart' | 'pause' | 'resume' | 'isolate' | 'transfer' | 'promote' | 'snapshot'; readonly node: NodeId }
  | { readonly kind: 'select'; readonly node: NodeId }
  /** Wipe the node's WAL, state.db and snapshots and copy it again from the leader (a corrupt node's way back). */
  | { readonly kind: 'rebuild'; readonly node: NodeId }
  /** Membership change: a new node, a learner made a voter, a node removed. */
  | { readonly kind: 'add-node'; readonly as: 'learner' | 'voter' }
  | { readonly kind: 'promote-learner' | 'remove-node'; readonly node: NodeId }
  | { readonly kind: 'heal' }
  /** A node-level fault: `disk`, its fsync takes `ms` longer; `apply`, each entry it applies does. 0 is normal. */
  | { readonly kind: 'node-fault'; readonly node: NodeId; readonly fault: 'disk' | 'apply'; readonly ms: number }
  | { readonly kind: 'partition'; readonly groups: readonly (readonly NodeId[])[] }
  | { readonly kind: 'cut'; readonly from: NodeId; readonly to: NodeId }
  | { readonly kind: 'clock'; readonly node: NodeId; readonly rate: number }
  | { readonly kind: 'link'; readonly links: readonly (readonly [NodeId, NodeId])[]; readonly options: LinkOptions; readonly description: string }
  | { readonly kind: 'replication'; readonly change: Partial<ReplicationSettings> }
  | { readonly kind: 'workload'; readonly change: Partial<WorkloadOptions>; readonly description: string }
  | { readonly kind: 'workload-running'; readonly running: boolean }
  | { readonly kind: 'sql'; readonly sql: string }
  /** `local`: the node's SQLite as it is; `linearizable`: the node must lead and confirm it with a majority first (ReadIndex); `lease`: the leader answers on its lease. */
  | { readonly kind: 'read'; readonly node: NodeId; readonly consistency: ReadConsistency; readonly sql: string }
  /** timeoutMs: the write's deadline (`--timeout`), past which the engine cancels it; absent: the engine's default. */
  | { readonly kind: 'write'; readonly node: NodeId; readonly sql: string; readonly timeoutMs?: number }
  /** One write traced through every process; null: the default upsert. */
  | { readonly kind: 'trace'; readonly sql: string | null }
  /** The most WAL a node keeps for lagging followers (the snapshot policy's retainBytes); null: no cap. */
  | { readonly kind: 'retain'; readonly bytes: number | null }
  | { readonly kind: 'help' }
  | { readonly kind: 'quit' };

/** A command the cluster carries out; select, help and quit are the dashboard's own. */
export type ClusterCommand = Exclude<Command, { kind: 'select' | 'help' | 'quit' }>;

/** What completion offers at one argument position. */
export type ArgKind =
  | { readonly kind: 'node' }
  /** Node ids and `|`, any number of them. */
  | { readonly kind: 'groups' }
  | { readonly kind: 'choice'; readonly choices: readonly string[]; readonly nodesToo?: boolean }
  /** A value completion cannot guess (a number, a statement). */
  | { readonly kind: 'free'; readonly placeholder: string };

export interface CommandSpec {
  readonly name: string;
  readonly args: readonly ArgKind[];
  readonly usage: string;
  readonly summary: string;
  /** Where the help overlay lists it. */
  readonly group: 'faults' | 'settings' | 'membership' | 'workload' | 'data' | 'dashboard';
}

const node: ArgKind = { kind: 'node' };
const free = (placeholder: string): ArgKind => ({ kind: 'free', placeholder });
const choice = (...choices: string[]): ArgKind => ({ kind: 'choice', choices });

export const replicationModes = ['async', 'sync', 'quorum'] as const;
export const ackLevels = ['received', 'flushed', 'applied'] as const;
export const readConsistencies = ['local', 'linearizable', 'lease'] as const satisfies readonly WorkloadOptions['readConsistency'][];
export type ReadConsistency = (typeof readConsistencies)[number];
export const sessionGuarantees = ['none', 'read-your-writes', 'causal'] as const satisfies readonly WorkloadOptions['sessions'][];

export const commandSpecs: readonly CommandSpec[] = [
  { name: 'kill', args: [node], usage: 'kill <node>', summary: 'SIGKILL the node: it dies with whatever it had not flushed', group: 'faults' },
  { name: 'restart', args: [node], usage: 'restart <node>', summary: 'start a dead node again from its data dir', group: 'faults' },
  { name: 'pause', args: [node], usage: 'pause <node>', summary: 'SIGSTOP the node: frozen, its messages wait', group: 'faults' },
  { name: 'resume', args: [node], usage: 'resume <node>', summary: 'SIGCONT a paused node', group: 'faults' },
  { name: 'isolate', args: [node], usage: 'isolate <node>', summary: 'cut every link to and from the node', group: 'faults' },
  { name: 'partition', args: [{ kind: 'groups' }], usage: 'partition n1 | n2 n3', summary: 'cut every link between the groups, both ways', group: 'faults' },
  { name: 'cut', args: [node, choice('->'), node], usage: 'cut <node> -> <node>', summary: 'cut one direction only: the first node\'s messages to the second are lost', group: 'faults' },
  { name: 'delay', args: [node, { kind: 'choice', choices: [], nodesToo: true }, free('<ms>')], usage: 'delay <node> [node] <ms> [jitter <ms>]', summary: 'slow the links between two nodes (or all of one node), both ways', group: 'faults' },
  { name: 'loss', args: [node, { kind: 'choice', choices: [], nodesToo: true }, free('<percent>')], usage: 'loss <node> [node] <percent>', summary: 'drop that share of messages on those links, e.g. loss n3 20%', group: 'faults' },
  { name: 'heal', args: [], usage: 'heal', summary: 'restore every link (partitions, cuts, delay, loss)', group: 'faults' },
  { name: 'clock', args: [node, free('<rate>')], usage: 'clock <node> <rate>', summary: "the node's timers run at that rate: 0.5 is half speed, 1 restores (a slow clock stretches its lease)", group: 'faults' },
  { name: 'disk', args: [node, choice('slow', 'normal', 'off'), free('<ms>')], usage: 'disk <node> slow <ms> | normal', summary: "the node's WAL fsync takes that much longer (normal or off clears it)", group: 'faults' },
  { name: 'apply', args: [node, choice('slow', 'normal', 'off'), free('<ms>')], usage: 'apply <node> slow <ms> | normal', summary: 'each entry the node applies takes that much longer (normal or off clears it)', group: 'faults' },
  { name: 'rebuild', args: [node], usage: 'rebuild <node>', summary: "wipe the node's log and state (term, vote kept) and copy it again: for a ✕ corrupt node", group: 'faults' },
  { name: 'mode', args: [choice(...replicationModes)], usage: 'mode async|sync|quorum', summary: 'when a write is acknowledged', group: 'settings' },
  { name: 'ack', args: [choice(...ackLevels)], usage: 'ack received|flushed|applied', summary: 'what a follower must have done to count', group: 'settings' },
  { name: 'quorum', args: [free('<k>|majority')], usage: 'quorum <k>|majority', summary: 'nodes (leader included) that must ack in quorum mode', group: 'settings' },
  { name: 'sync-timeout', args: [free('<ms>|off')], usage: 'sync-timeout <ms>|off', summary: 'how long a sync write waits before the fallback acts', group: 'settings' },
  { name: 'fallback', args: [choice('block', 'async')], usage: 'fallback block|async', summary: 'after the sync timeout: keep waiting, or degrade to async', group: 'settings' },
  { name: 'transfer', args: [node], usage: 'transfer <node>', summary: 'hand leadership to the node', group: 'settings' },
  { name: 'promote', args: [node], usage: 'promote <node>', summary: 'make the node leader (manual failover)', group: 'settings' },
  { name: 'snapshot', args: [node], usage: 'snapshot <node>', summary: "snapshot the node's state now and compact its WAL (the policy's retention applies)", group: 'settings' },
  { name: 'add', args: [choice('learner', 'voter')], usage: 'add learner|voter', summary: 'start a new node (n4 to n9) and add it: a learner gets the log but never votes; a voter counts for the majority at once', group: 'membership' },
  { name: 'promote-learner', args: [node], usage: 'promote-learner <node>', summary: 'make a learner a voter, once it has caught up with the leader', group: 'membership' },
  { name: 'remove', args: [node], usage: 'remove <node>', summary: 'take the node out of the cluster (the leader steps down once it commits); its process stops', group: 'membership' },
  { name: 'rate', args: [free('<ops/s>')], usage: 'rate <ops/s>', summary: 'workload operations per second, reads and writes together', group: 'workload' },
  { name: 'workload', args: [choice('on', 'off')], usage: 'workload on|off', summary: 'start or stop the built-in clients', group: 'workload' },
  { name: 'reads', args: [free('<percent>')], usage: 'reads <percent>', summary: 'share of workload operations that are reads', group: 'workload' },
  { name: 'read-from', args: [{ kind: 'choice', choices: ['leader', 'follower', 'any'], nodesToo: true }], usage: 'read-from leader|follower|any|<node>', summary: 'where workload reads go', group: 'workload' },
  { name: 'sessions', args: [choice(...sessionGuarantees)], usage: 'sessions none|read-your-writes|causal', summary: "workload clients' session guarantee: a read waits until its node has the client's writes (causal: and what it saw)", group: 'workload' },
  { name: 'sticky', args: [choice('on', 'off')], usage: 'sticky on|off', summary: 'each workload client keeps reading from one node (monotonic reads)', group: 'workload' },
  { name: 'read-consistency', args: [choice(...readConsistencies)], usage: 'read-consistency local|linearizable|lease', summary: "workload reads: the node as it is, through the leader (ReadIndex), or on the leader's lease", group: 'workload' },
  { name: 'retain', args: [free('<size>|none')], usage: 'retain <size>|none', summary: 'cap the WAL a node keeps for lagging followers, e.g. retain 256KiB (as max_slot_wal_keep_size); none: no cap', group: 'settings' },
  { name: 'sql', args: [free('<statement>')], usage: 'sql <statement>', summary: 'run SQL through the leader (a SELECT reads linearizably)', group: 'data' },
  {
    name: 'read',
    args: [node, choice(...readConsistencies), free('<select>')],
    usage: 'read <node> [local|linearizable|lease] <select>',
    summary: "read one node's SQLite as it is (local, may be stale); linearizable: the node must lead and a majority confirm it (ReadIndex); lease: the leader answers on its lease, no round trip",
    group: 'data',
  },
  { name: 'write', args: [node, free('<statement>')], usage: 'write <node> [--timeout <ms|s>] <statement>', summary: 'send a write straight to one node (a follower refuses and names the leader); --timeout: give up then and cancel it', group: 'data' },
  { name: 'trace', args: [free('[statement]')], usage: 'trace [statement]', summary: "trace one write through every process: each stage's µs, the critical path, where the time went", group: 'data' },
  { name: 'select', args: [node], usage: 'select <node>', summary: 'select a node in the table', group: 'dashboard' },
  { name: 'help', args: [], usage: 'help', summary: 'the keys and commands', group: 'dashboard' },
  { name: 'quit', args: [], usage: 'quit', summary: 'stop every node and leave', group: 'dashboard' },
];

export function findSpec(name: string): CommandSpec | undefined {
  return commandSpecs.find((spec) => spec.name === name);
}
