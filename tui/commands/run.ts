// Carries out a Command on the cluster and says what happened in one line
// (or a result pane for SQL). Every failure, typed or not, becomes a message:
// a mistyped or refused command never takes the dashboard down.

import type { NodeId, QueryResult, WriteTrace } from '../../cluster/index.js';
import { resultRowsMax } from '../constants.js';
import type { ClusterController } from '../controller.js';
import type { EngineKind } from '../../cluster/engine.js';
import { engineOf, engineRefusal, raftMember } from '../engine.js';
import { formatBytes, formatLsn, formatMs } from '../format.js';
import type { ResultView } from '../state/dashboard-state.js';
import type { ClusterCommand } from './spec.js';

export type Outcome =
  | { readonly kind: 'message'; readonly text: string; readonly level: 'ok' | 'info' | 'error' }
  | { readonly kind: 'result'; readonly result: ResultView }
  | { readonly kind: 'trace'; readonly trace: WriteTrace; readonly summary: string };

const ok = (text: string): Outcome => ({ kind: 'message', text, level: 'ok' });
const info = (text: string): Outcome => ({ kind: 'message', text, level: 'info' });

/** What the status line says while the command runs. */
export function busyText(command: ClusterCommand, engine: EngineKind = 'replica-lab'): string {
  if (engine === 'postgres') {
    if (command.kind === 'rebuild') return `removing ${command.node}'s data and copying it again from the primary (pg_basebackup)…`;
    if (command.kind === 'promote') return `promoting ${command.node} (pg_ctl promote)…`;
    if (command.kind === 'read' && command.consistency !== 'local') return `reading on the primary (PostgreSQL has no ReadIndex or lease)…`;
  }
  switch (command.kind) {
    case 'kill':
      return `killing ${command.node}…`;
    case 'restart':
      return `restarting ${command.node}…`;
    case 'rebuild':
      return `wiping ${command.node}'s log and state, restarting it empty…`;
    case 'transfer':
      return `handing leadership to ${command.node}…`;
    case 'promote':
      return `promoting ${command.node}…`;
    case 'snapshot':
      return `${command.node} is taking a snapshot…`;
    case 'add-node':
      return `starting a new node and adding it as a ${command.as}…`;
    case 'promote-learner':
      return `making ${command.node} a voter…`;
    case 'remove-node':
      return `removing ${command.node} from the cluster…`;
    case 'replication':
      return 'changing replication on every node…';
    case 'read':
      return command.consistency === 'linearizable'
        ? `asking ${command.node} to confirm its leadership with a majority (ReadIndex), then read…`
        : command.consistency === 'lease'
          ? `asking ${command.node} to read on its lease (ReadIndex if it has none)…`
          : 'running the statement…';
    case 'sql':
      return 'running the statement…';
    case 'write':
      return command.timeoutMs === undefined ? `sending the write to ${command.node}…` : `sending the write to ${command.node} (cancelled if it has no answer in ${formatMs(command.timeoutMs)})…`;
    case 'trace':
      return 'tracing one write through every process…';
    default:
      return 'working…';
  }
}

export async function runCommand(controller: ClusterController, command: ClusterCommand): Promise<Outcome> {
  try {
    return await run(controller, command);
  } catch (error) {
    return { kind: 'message', text: errorText(error), level: 'error' };
  }
}

async function run(controller: ClusterController, command: ClusterCommand): Promise<Outcome> {
  const node = (id: NodeId) => controller.status().find((n) => n.id === id);
  // PostgreSQL's words where the replica-lab ones would not hold (a one-way cut, ReadIndex, a rebuild, LSNs).
  const pg = engineOf(controller) === 'postgres';
  const refusal = engineRefusal(controller, command);
  if (refusal !== null) return info(refusal);
  switch (command.kind) {
    case 'kill': {
      if (node(command.node)?.up === false) return info(`${command.node} is already down; r restarts it`);
      await controller.kill(command.node);
      return ok(`${command.node} killed (SIGKILL)`);
    }
    case 'rebuild': {
      await controller.restart(command.node, { rebuild: true });
      if (pg) return ok(`${command.node}'s data removed and copied again from the primary (pg_basebackup): it streams from there as a standby`);
      return ok(`${command.node} wiped (term and vote kept) and restarted empty: the leader copies its log back; it votes again once caught up`);
    }
    case 'restart': {
      if (node(command.node)?.up === true) return info(`${command.node} is running; k kills it first`);
      // Something in the way of the node's files: once moved away, a restart is the way back (else it is refused again, saying so).
      const corrupt = node(command.node)?.corrupt;
      if (corrupt != null && !corrupt.message.includes(' is in the way: ')) return info(`${command.node}'s WAL is corrupt: a restart finds the same damage; :rebuild ${command.node} copies it again from the others`);
      await controller.restart(command.node);
      return ok(`${command.node} restarted from its data dir`);
    }
    case 'pause': {
      const status = node(command.node);
      if (status?.up === false) return info(`${command.node} is down; r restarts it`);
      if (status?.paused === true) return info(`${command.node} is already paused; p resumes it`);
      controller.pause(command.node);
      return ok(`${command.node} paused (SIGSTOP)`);
    }
    case 'resume': {
      if (node(command.node)?.paused !== true) return info(`${command.node} is not paused`);
      controller.resume(command.node);
      return ok(`${command.node} resumed (SIGCONT)`);
    }
    case 'isolate': {
      const others = controller.ids.filter((id) => id !== command.node);
      if (others.length === 0) return info('a single node has no links to cut');
      controller.partition([[command.node], others]);
      return ok(`${command.node} isolated: every link to and from it is cut; h heals`);
    }
    case 'cut':
      controller.cut(command.from, command.to);
      if (pg) return ok(`${command.from} -> ${command.to} cut: a replication connection cannot run one way, so the one between them ends both ways, as in a partition; h heals`);
      return ok(`${command.from} -> ${command.to} cut one way: ${command.to} no longer hears ${command.from}, ${command.from} still hears ${command.to}; h heals`);
    case 'partition':
      controller.partition(command.groups);
      return ok(`partitioned ${command.groups.map((group) => group.join(' ')).join(' | ')}; h heals`);
    case 'link': {
      for (const [from, to] of command.links) controller.setLink(from, to, command.options);
      const note = (pg ? standbysOnlyNote : followersOnlyNote)(command.links, controller.leader());
      return ok(`${command.description}; h heals${note === null ? '' : `. ${note}`}`);
    }
    case 'heal':
      controller.heal();
      return ok('every link restored');
    case 'clock':
      raftMember(controller, 'setClockRate')(command.node, command.rate);
      return ok(
        command.rate === 1
          ? `${command.node}'s clock back to normal`
          : `${command.node}'s timers run at ×${command.rate}: its elections, heartbeats and lease count ${command.rate < 1 ? 'slow' : 'fast'} ticks; :clock ${command.node} 1 restores`,
      );
    case 'node-fault': {
      raftMember(controller, 'setNodeFault')(command.node, command.fault === 'disk' ? { diskSlowMs: command.ms } : { applySlowMs: command.ms });
      if (command.ms === 0) return ok(`${command.node} ${command.fault} back to normal`);
      return ok(command.fault === 'disk' ? `${command.node}: every WAL fsync takes ${command.ms}ms longer; :disk ${command.node} normal clears it` : `${command.node}: every entry it applies takes ${command.ms}ms longer; :apply ${command.node} normal clears it`);
    }
    case 'replication': {
      const settings = await controller.setReplication(command.change);
      const quorum = settings.mode === 'quorum' ? ` (quorum ${settings.quorum ?? 'majority'})` : '';
      const timeout = settings.syncTimeoutMs === null ? '' : `, sync timeout ${settings.syncTimeoutMs}ms then ${settings.syncFallback}`;
      return ok(`replication: ${settings.mode}${quorum}, ack ${settings.ackLevel}${timeout}`);
    }
    case 'workload':
      controller.workload.update(command.change);
      return ok(command.description);
    case 'workload-running':
      if (command.running) controller.workload.start();
      else void Promise.resolve(controller.workload.stop()).catch(() => {});
      if (!command.running) return ok('workload stopped');
      const rate = controller.workload.stats().options.rate;
      return ok(rate === null ? 'workload running (closed loop)' : `workload running at ${rate} ops/s`);
    case 'transfer': {
      const leader = controller.leader();
      if (leader === command.node) return info(`${command.node} already leads`);
      await raftMember(controller, 'transferLeadership')(command.node);
      return ok(`leadership handed from ${leader ?? 'the leader'} to ${command.node}`);
    }
    case 'promote':
      await controller.promote(command.node);
      return ok(`${command.node} promoted`);
    case 'snapshot': {
      if (controller.snapshot === undefined) return info('this dashboard cannot take snapshots');
      if (node(command.node)?.up === false) return info(`${command.node} is down; r restarts it`);
      const taken = await controller.snapshot(command.node);
      return ok(`${command.node} snapshot at index ${taken.index} (${formatBytes(taken.bytes)}, ${formatMs(taken.durationMs)}); WAL kept ${formatBytes(taken.walBytesRetained)}`);
    }
    case 'add-node': {
      const id = await raftMember(controller, 'addNode')({ as: command.as });
      return ok(
        command.as === 'learner'
          ? `${id} joined as a learner: it copies the log and never votes; :promote-learner ${id} once it has caught up`
          : `${id} joined as a voter: ${quorumText(controller)}`,
      );
    }
    case 'promote-learner':
      await raftMember(controller, 'promoteLearner')(command.node);
      return ok(`${command.node} is a voter now: ${quorumText(controller)}`);
    case 'remove-node': {
      const wasLeader = controller.leader() === command.node;
      await raftMember(controller, 'removeNode')(command.node);
      return ok(`${command.node} left the cluster${wasLeader ? ' and stepped down as leader' : ''}: ${quorumText(controller)}`);
    }
    case 'sql':
      if (isRead(command.sql)) return { kind: 'result', result: queryView(await controller.query(command.sql, [], { consistency: 'linearizable' }), pg ? 'read on the primary' : 'linearizable read through the leader', pg) };
      return { kind: 'result', result: writeView(command.sql, await controller.execute(command.sql), pg) };
    case 'read': {
      if (command.consistency === 'local') return { kind: 'result', result: queryView(await controller.query(command.sql, [], { node: command.node, consistency: 'local' }), `local read on ${command.node}, as it is`, pg) };
      let result;
      try {
        result = await controller.query(command.sql, [], { node: command.node, consistency: command.consistency });
      } catch (error) {
        return { kind: 'message', text: (pg ? primaryReadRefusal : linearizableRefusal)(command.node, error), level: 'error' };
      }
      // PostgreSQL has neither: the primary answers as it is, and a deposed primary that does not know it answers too.
      if (pg) return { kind: 'result', result: queryView(result, `${command.consistency} read on the primary ${command.node}: PostgreSQL has no ReadIndex or lease, nothing confirmed it still is the primary`, pg) };
      if (command.consistency === 'lease') {
        const how = result.lease === true ? `lease read on ${command.node}: answered on its lease, no round trip` : `lease read on ${command.node}: it held no lease, so a majority confirmed it (ReadIndex)`;
        return { kind: 'result', result: queryView(result, how) };
      }
      return { kind: 'result', result: queryView(result, `linearizable read on ${command.node}, its leadership confirmed by a majority`) };
    }
    case 'write': {
      let result;
      try {
        result = await controller.execute(command.sql, [], { node: command.node, ...(command.timeoutMs === undefined ? {} : { timeoutMs: command.timeoutMs, cancelAtDeadline: true }) });
      } catch (error) {
        const notLeader = error instanceof Error && (error as { kind?: unknown }).kind === 'not-leader';
        return { kind: 'message', text: notLeader ? `refused: ${error.message.split('\n')[0]}` : `${command.node}: ${errorText(error)}`, level: 'error' };
      }
      return { kind: 'result', result: writeView(command.sql, result, pg) };
    }
    case 'trace': {
      if (controller.trace === undefined) return info('this cluster cannot trace writes');
      const trace = await controller.trace(command.sql ?? traceStatement);
      const summary = `traced index ${trace.index}: ${Math.round(trace.clientLatencyUs)} µs, decided by ${trace.decidedBy === 'leader-fsync' ? `${trace.leader}'s fdatasync` : `${trace.decidedBy}'s ack`} · ↑↓ scroll, Esc closes`;
      return { kind: 'trace', trace, summary };
    }
    case 'retain': {
      if (controller.setSnapshotPolicy === undefined) return info('this cluster cannot change its snapshot policy');
      const policy = controller.setSnapshotPolicy({ retainBytes: command.bytes });
      return ok(
        policy.retainBytes === null
          ? 'no cap on retained WAL: a leader keeps every entry a lagging follower needs (max_slot_wal_keep_size = -1)'
          : `retained WAL capped at ${formatBytes(policy.retainBytes)}: past it a leader compacts what lagging followers need, and they get a snapshot`,
      );
    }
    default:
      return assertNever(command);
  }
}

/** "the majority is now 3 of 4 voters", from the status rows (the change's own event says before and after). */
function quorumText(controller: ClusterController): string {
  const voters = controller.status().filter((node) => node.member === 'voter').length;
  return voters === 0 ? 'the event log shows the majority before and after' : `the majority is ${Math.floor(voters / 2) + 1} of ${voters} voters`;
}

/**
 * Said when every link changed joins two followers: followers send each other nothing but votes in
 * an election (the log and the heartbeats go from the leader to each follower), so a delay or loss
 * there changes nothing visible until an election, or until one of the two leads.
 */
export function followersOnlyNote(links: readonly (readonly [NodeId, NodeId])[], leader: NodeId | null): string | null {
  if (leader === null || links.length === 0) return null;
  const nodes = [...new Set(links.flat())];
  if (nodes.includes(leader)) return null;
  const leaderLinks = nodes.map((id) => `${leader}–${id}`).join(' and ');
  return `Both are followers, which send each other only election votes; the log flows on ${leaderLinks}, so this shows in an election or once one of them leads`;
}

/**
 * On PostgreSQL, said when every link changed joins two standbys: each
 * standby's one replication connection goes to the primary (through its
 * proxy), none runs between standbys, so nothing changes until one of them is
 * promoted.
 */
export function standbysOnlyNote(links: readonly (readonly [NodeId, NodeId])[], primary: NodeId | null): string | null {
  if (primary === null || links.length === 0) return null;
  const nodes = [...new Set(links.flat())];
  if (nodes.includes(primary)) return null;
  return `Both are standbys: no replication connection runs between them (each streams from the primary ${primary}), so this changes nothing until one of them is promoted`;
}

/** On PostgreSQL: a linearizable or lease read a standby did not serve (only the primary takes them). */
function primaryReadRefusal(id: NodeId, error: unknown): string {
  const { kind, leader } = (error ?? {}) as { kind?: unknown; leader?: unknown };
  if (kind === 'not-leader') return `refused: ${id} is a standby; a linearizable or lease read goes to the primary${typeof leader === 'string' && leader !== id ? ` (${leader})` : ''}`;
  return `read on ${id} failed: ${errorText(error)}`;
}

/**
 * One line for a linearizable read a node did not serve: a follower refuses (only a leader serves
 * ReadIndex), and a leader that cannot reach a majority cannot confirm its leadership, so the read
 * times out or fails rather than answering something stale.
 */
function linearizableRefusal(id: NodeId, error: unknown): string {
  const { kind, leader } = (error ?? {}) as { kind?: unknown; leader?: unknown };
  if (kind === 'not-leader') {
    const leads = typeof leader === 'string' && leader !== id ? `; ${leader} leads` : '';
    return `refused: ${id} is not the leader, and only the leader serves a linearizable read${leads}`;
  }
  return `linearizable read on ${id} failed: ${errorText(error)}`;
}

/** What `:trace` writes when given no statement. */
export const traceStatement = "INSERT OR REPLACE INTO kv (k, v) VALUES ('trace', 'traced write')";

function assertNever(command: never): never {
  throw new Error(`unhandled command ${JSON.stringify(command)}`);
}

function isRead(sql: string): boolean {
  return /^\s*(select|with|explain|pragma|values)\b/i.test(sql);
}

function queryView(result: QueryResult, how: string, pg = false): ResultView {
  const rows = result.rows.slice(0, resultRowsMax).map((row) => result.columns.map((column) => cell(row[column])));
  const more = result.rows.length > rows.length || result.truncated;
  return {
    title: `${how} · ${result.node} at ${pg ? `LSN ${formatLsn(result.index)}` : `applied index ${result.index}`} · ${result.rows.length} row${result.rows.length === 1 ? '' : 's'} · ${formatMs(result.latencyMs)}`,
    columns: result.columns,
    rows,
    note: more ? `only the first ${rows.length} rows are shown` : null,
  };
}

/** On PostgreSQL a write's index is the WAL position of its commit (an LSN) and its term the primary's timeline. */
function writeView(sql: string, result: { index: number; term: number; leader: NodeId; latencyMs: number }, pg = false): ResultView {
  return {
    title: `write acknowledged by ${result.leader} · ${formatMs(result.latencyMs)}`,
    columns: pg ? ['lsn', 'timeline', 'primary', 'statement'] : ['index', 'term', 'leader', 'statement'],
    rows: [[pg ? formatLsn(result.index) : String(result.index), String(result.term), result.leader, sql]],
    note: null,
  };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A typed cluster error names its kind; anything else shows its message; nothing shows a stack. */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const kind = (error as { kind?: unknown }).kind;
  const label: Record<string, string> = {
    'not-leader': 'not the leader',
    timeout: 'timed out',
    unavailable: 'unavailable',
    'bad-statement': 'bad statement',
    'bad-request': 'refused',
  };
  const prefix = typeof kind === 'string' && kind in label ? `${label[kind]}: ` : '';
  return `${prefix}${error.message.split('\n')[0]}`;
}
