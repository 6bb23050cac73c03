// The dashboard on PostgreSQL says what is true of PostgreSQL (issue 17, "same
// dashboard"): the help lists what needs the replica-lab engine apart, the
// table's `behind` is WAL bytes, the header says how it fails over and names
// the primary, the event log shows what the servers logged, and commands whose
// replica-lab words would not hold (a one-way cut, ReadIndex, a rebuild) say
// what PostgreSQL does. Fake engines, in-process.

import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterEvent, NodeStatus } from '../../cluster/index.js';
import type { ServerLogEvent } from '../../cluster/postgres/server-log.js';
import { failoverFlag } from '../../cli/commands/dashboard.js';
import { connectWithin, standbyTimeline } from '../../cluster/postgres/cluster.js';
import { consistencyLegend } from '../../tui/charts/chart-data.js';
import { parseCommand } from '../../tui/commands/parse.js';
import { busyText, runCommand, standbysOnlyNote } from '../../tui/commands/run.js';
import type { ClusterCommand } from '../../tui/commands/spec.js';
import { Header } from '../../tui/components/header.js';
import { helpLines } from '../../tui/components/help-overlay.js';
import { NodeTable } from '../../tui/components/node-table.js';
import { dashboardReducer, initialDashboardState, type Snapshot } from '../../tui/state/dashboard-state.js';
import { describeEvents, initialElections, serverLogSince } from '../../tui/state/event-log.js';
import { frame, RecordedController } from './fixtures/recorded-controller.js';
import { renderAt, renderDashboard, waitForText } from './helpers.js';

afterEach(() => {
  cleanup();
});

const f = frame('steady');
const none = new Set<string>();
const noCapabilities = { raft: false, snapshots: false, membership: false, trace: false, nodeFaults: false, clock: false };

/** The steady frame as PostgreSQL reports it: LSN bytes, commitIndex 0, lag.entries 0 and lag.bytes the distance from the primary's LSN. */
const pgNodes: NodeStatus[] = f.nodes.map((node) => ({
  ...node,
  commitIndex: 0,
  lastIndex: 0x90cd78,
  appliedIndex: node.id === f.leader ? 0x90cd78 : 0x90c978,
  lag: node.lag === null ? null : { ...node.lag, entries: 0, bytes: 1024 },
  checksum: null,
}));
const pgSnapshot: Snapshot = { atMs: f.atMs, nodes: pgNodes, leader: f.leader, replication: f.replication, workload: f.workload, lostWrites: 0, engine: 'postgres', pgSetting: 'ANY 1 (n1, n3)' };

/** A recorded controller that is the PostgreSQL engine: no Raft members' capabilities, LSN positions, and a server log. */
function pgController(log: ServerLogEvent[] = []): RecordedController & { serverLog(): readonly ServerLogEvent[] } {
  const controller = new RecordedController({ frame: { ...f, nodes: pgNodes } });
  return Object.assign(controller, { engine: 'postgres' as const, capabilities: noCapabilities, failoverMode: 'manual', pgSetting: () => 'ANY 1 (n1, n3)', serverLog: () => log });
}

function command(line: string): ClusterCommand {
  const parsed = parseCommand(line, ['n1', 'n2', 'n3']);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.command as ClusterCommand;
}

const text = (lines: ReturnType<typeof helpLines>): string[] => lines.map((segments) => segments.map((s) => s.text).join('').trimEnd());
const words = (lines: readonly string[]): string => lines.join(' ').replace(/\s+/g, ' ');

describe('the help on PostgreSQL', () => {
  const raftOnly = ['trace', 'clock', 'disk', 'apply', 'transfer', 'snapshot', 'retain', 'add', 'promote-learner', 'remove'];

  it('lists no Raft-only command among the commands, and names each once as needing the replica-lab engine', () => {
    const lines = text(helpLines(120, null, [], 'postgres'));
    const commands = lines.slice(lines.indexOf('commands (after :)'));
    const apart = commands.indexOf('need the replica-lab engine');
    expect(apart).toBeGreaterThan(0);
    for (const name of raftOnly) {
      expect(commands.slice(0, apart).some((line) => line.startsWith(`${name} `)), name).toBe(false);
      expect(words(commands.slice(apart)), name).toMatch(new RegExp(` :${name}[ :]`));
    }
    expect(words(commands.slice(apart))).toMatch(/^need the replica-lab engine t v :trace/);
    // The shared commands stay, in PostgreSQL's words.
    expect(words(commands)).toContain("rebuild <node> remove a standby's data and copy it again from the primary (pg_basebackup)");
    expect(words(commands)).toContain('cut <node> -> <node> a replication connection cannot run one way: it ends both ways');
    expect(words(commands)).not.toMatch(/ReadIndex\)|term, vote kept|leader's lease, no round trip/);
  });

  it('has no Raft words among the keys, the table and the charts: no t, no message pane, no PreVote, no commit index', () => {
    const lines = text(helpLines(120, null, [], 'postgres'));
    const left = words(lines.slice(0, lines.indexOf('commands (after :)')));
    expect(left).not.toMatch(/transfer leadership|Raft messages|pre-cand|PreVote|candidate|learner|snapshot index|election/);
    expect(left).toContain('P promote the selected standby (pg_ctl promote)');
    expect(left).toContain('pg_rewind');
    expect(left).toContain("behind wide: bytes of WAL between the primary's current LSN and the standby's replay LSN");
    expect(left).toContain('D divergent, U ahead: n/a on PostgreSQL');
  });

  it('fits 80 and 120 columns, and leaves the replica-lab help as it was', () => {
    for (const columns of [80, 120]) for (const line of text(helpLines(columns, null, [], 'postgres'))) expect(line.length, line).toBeLessThanOrEqual(columns);
    const replicaLab = words(text(helpLines(120)));
    expect(replicaLab).toContain('trace [statement]');
    expect(replicaLab).toContain('t / P transfer leadership to / promote the selected node');
    expect(replicaLab).not.toContain('need the replica-lab engine');
  });

  it('is what ? shows on the PostgreSQL dashboard', async () => {
    const rendered = renderDashboard(pgController(), { columns: 120, rows: 200 });
    await waitForText(rendered, 'tli');
    rendered.stdin.write('?');
    const shown = await waitForText(rendered, 'need the replica-lab engine');
    expect(shown).not.toContain('transfer leadership');
  });
});

describe('v on PostgreSQL', () => {
  it('has no t or v in the footer, and P (promote) where the line has room', async () => {
    const rendered = renderDashboard(pgController(), { columns: 150, rows: 36 });
    const shown = await waitForText(rendered, 'primary n2');
    const footer = shown.split('\n').at(-1)!;
    expect(footer).toContain('P promote');
    expect(footer).not.toMatch(/\bt transfer|\bv messages/);
  });

  it('says there are no Raft messages instead of opening an empty message pane', async () => {
    const rendered = renderDashboard(pgController(), { columns: 120, rows: 36 });
    await waitForText(rendered, 'tli');
    rendered.stdin.write('v');
    const shown = await waitForText(rendered, 'v: the Raft message pane needs the replica-lab engine');
    expect(shown).toContain('events');
    expect(shown).not.toContain('messages live');
  });
});

describe('the node table on PostgreSQL', () => {
  it("shows behind as the WAL bytes between the primary's LSN and the standby's replay, not the 0 entries PostgreSQL cannot count", () => {
    const lines = (renderAt(<NodeTable nodes={pgNodes} leader={f.leader} selected={0} crashed={none} divergent={none} width={200} wide color={false} engine="postgres" />, 200).lastFrame() ?? '').split('\n');
    const titles = lines[0]!.trim().split(/\s+/);
    expect(titles).toContain('behind');
    expect(titles).not.toContain('bytes');
    // Nor columns that would say – on every row: no state checksum, no Raft snapshot.
    expect(titles).not.toContain('checksum@index');
    expect(titles).not.toContain('snap');
    const behind = (row: string): string => row.slice(lines[0]!.indexOf('behind') - 2, lines[0]!.indexOf('behind') + 'behind'.length).trim();
    expect(behind(lines[1]!)).toBe('1.0KiB');
    expect(behind(lines[2]!)).toBe('–');
  });
});

describe('two primaries on PostgreSQL', () => {
  it('says a server that left recovery beside the primary is also a primary (split brain), not just up', () => {
    // n2 promoted by hand while n1 still ran as the primary: both are out of recovery.
    const nodes = pgNodes.map((node) => (node.id === 'n1' ? { ...node, role: 'leader' as const, term: 1 } : node.id === f.leader ? { ...node, term: 2 } : node));
    const lines = (renderAt(<NodeTable nodes={nodes} leader={f.leader} selected={1} crashed={none} divergent={none} width={120} wide={false} color={false} engine="postgres" />, 120).lastFrame() ?? '').split('\n');
    expect(lines[1]).toMatch(/^ {2}n1 {4}primary .* ≠ also a primary \(n2 is the other\)$/);
    expect(lines[2]).toMatch(/ ● up$/);
    // The replica-lab table is unchanged: a stale leader there is Raft's, shown by its term.
    const replicaLab = renderAt(<NodeTable nodes={nodes} leader={f.leader} selected={1} crashed={none} divergent={none} width={120} wide={false} color={false} />, 120).lastFrame() ?? '';
    expect(replicaLab).not.toContain('also a primary');
  });
});

describe("a standby's timeline (tli)", () => {
  it('never goes back while its process runs: cut off after a promotion, its checkpoint still says the old timeline', () => {
    const streaming = { recovery: true, timeline: 2 };
    // Cut off: no walreceiver, so the poll falls back to the last checkpoint's timeline, 1.
    expect(standbyTimeline(true, 1, streaming)).toBe(2);
    expect(standbyTimeline(true, null, streaming)).toBe(2);
    expect(standbyTimeline(true, 3, streaming)).toBe(3);
    // Just started (no report yet), or promoted (no longer in recovery): as polled.
    expect(standbyTimeline(true, 1, null)).toBe(1);
    expect(standbyTimeline(false, 3, streaming)).toBe(3);
  });
});

describe('a connection that comes after its deadline (quitting while sync commits wait)', () => {
  it('goes back to the pool instead of staying checked out with no listener for its errors', async () => {
    let arrive: (client: { release(): void }) => void = () => {};
    const connecting = new Promise<{ release(): void }>((resolve) => {
      arrive = resolve;
    });
    await expect(connectWithin(connecting, 1)).rejects.toThrow(/no connection within/);
    let released = 0;
    arrive({ release: () => void released++ });
    await connecting;
    await Promise.resolve();
    expect(released).toBe(1);
    // In time: handed over, not released.
    const client = { release: () => void released++ };
    await expect(connectWithin(Promise.resolve(client), 1_000)).resolves.toBe(client);
    expect(released).toBe(1);
  });
});

describe('the header on PostgreSQL', () => {
  const header = (width: number, pgFailover?: string, leader: string | null = f.leader): string => {
    const tree = <Header snapshot={{ ...pgSnapshot, leader }} failover="raft" uptimeMs={65_000} width={width} color={false} engine="postgres" {...(pgFailover === undefined ? {} : { pgFailover })} />;
    const rendered = renderAt(tree, width);
    // Ink does not redraw on resize when it believes it runs in CI (CI=true): draw again at the new width.
    rendered.rerender(tree);
    return rendered.lastFrame() ?? '';
  };

  it('says auto with the manager and fencing where it fits, and failover auto where it does not', () => {
    expect(header(200, 'auto: manager, fencing on')).toContain(' │ failover auto: manager, fencing on │ ');
    const narrow = header(100, 'auto: manager, fencing off');
    expect(narrow).toContain(' │ failover auto │ ');
    expect(narrow.length).toBeLessThanOrEqual(100);
    expect(header(120, 'auto: manager, fencing off')).toContain(' │ failover auto: manager, fencing off │ ');
    expect(header(200)).toContain(' │ failover manual │ ');
  });

  it('names the primary, and says NO PRIMARY without one', () => {
    expect(header(200)).toContain(` │ primary ${f.leader} │ `);
    expect(header(200, undefined, null)).toContain(' │ NO PRIMARY │ ');
    expect(header(200)).not.toContain('leader');
  });
});

describe('--failover on each engine', () => {
  it('is manual by default on PostgreSQL, auto (or raft) its failover manager; auto on replica-lab says where it belongs', () => {
    expect(failoverFlag('postgres', undefined)).toBe('manual');
    expect(failoverFlag('postgres', 'auto')).toBe('raft');
    expect(failoverFlag('postgres', 'raft')).toBe('raft');
    expect(failoverFlag('replica-lab', undefined)).toBe('raft');
    expect(() => failoverFlag('replica-lab', 'auto')).toThrow(/--failover must be one of raft, manual, got 'auto' \(auto is the PostgreSQL engine's failover manager: --engine postgres --failover auto/);
    expect(() => failoverFlag('postgres', 'elect')).toThrow(/--failover must be one of manual, auto, raft/);
  });
});

describe('the event log on PostgreSQL', () => {
  const at = f.atMs;
  const logged = (node: string, kind: ServerLogEvent['kind'], line: string, atMs = at): ServerLogEvent => ({ atMs, node, kind, text: line });
  const update = (state: ReturnType<typeof initialDashboardState>, serverLog: ServerLogEvent[], events: ClusterEvent[] = []) =>
    dashboardReducer(state, { type: 'cluster-update', snapshot: pgSnapshot, events, serverLog });

  it("shows what each server logged, marked as its own words, in time order with the engine's events", () => {
    const promoted: ClusterEvent = { atMs: at + 1, event: { type: 'promoted', node: 'n2', term: 2, lastIndex: 0x90f5d8 } as ClusterEvent['event'] };
    const state = update(initialDashboardState(), [logged('n2', 'promoted', 'LOG:  received promote request', at + 2), logged('n2', 'timeline-selected', 'LOG:  selected new timeline ID: 2', at + 2), logged('n3', 'streaming-ended', 'FATAL:  could not receive data from WAL stream', at)], [promoted]);
    expect(state.log.toArray().map((line) => line.text)).toEqual([
      'n3 logged: FATAL:  could not receive data from WAL stream',
      'n2 promoted to primary (pg_ctl promote): timeline 2, WAL at 0/90F5D8',
      'n2 logged: received promote request',
      'n2 logged: selected new timeline ID: 2',
    ]);
    expect(state.log.toArray().map((line) => line.level)).toEqual(['warn', 'notice', 'notice', 'notice']);
  });

  it('says a standby that cannot follow the new timeline once, not twice a second', () => {
    const fork = (atMs: number) => logged('n3', 'timeline-fork', 'FATAL:  new timeline 2 forked off current database system timeline 1 before current recovery point 0/90B4C0', atMs);
    const unreachable = (atMs: number) => logged('n3', 'primary-unreachable', 'FATAL:  could not connect to the primary server: connection refused', atMs);
    let state = update(initialDashboardState(), [fork(at), unreachable(at + 1)]);
    for (let i = 1; i <= 5; i++) state = update(state, [fork(at + i * 1000), unreachable(at + i * 1000 + 1)]);
    expect(state.log.toArray().map((line) => line.text)).toEqual([
      'n3 logged: FATAL:  new timeline 2 forked off current database system timeline 1 before current recovery point 0/90B4C0',
      'n3 logged: FATAL:  could not connect to the primary server: connection refused',
    ]);
  });

  it("says a standby's failed reconnects once, until it logs something else", () => {
    const unreachable = (node: string, atMs: number) => logged(node, 'primary-unreachable', 'FATAL:  could not connect to the primary server: connection refused', atMs);
    let state = update(initialDashboardState(), [unreachable('n2', at), unreachable('n3', at)]);
    state = update(state, [unreachable('n2', at + 1000), unreachable('n3', at + 1000)]);
    state = update(state, [logged('n2', 'streaming-started', 'LOG:  started streaming WAL from primary at 0/900000 on timeline 2', at + 1500), unreachable('n3', at + 2000)]);
    state = update(state, [unreachable('n2', at + 3000)]);
    expect(state.log.toArray().map((line) => line.text)).toEqual([
      'n2 logged: FATAL:  could not connect to the primary server: connection refused',
      'n3 logged: FATAL:  could not connect to the primary server: connection refused',
      'n2 logged: started streaming WAL from primary at 0/900000 on timeline 2',
      'n2 logged: FATAL:  could not connect to the primary server: connection refused',
    ]);
  });

  it('takes from the bounded server log only what came after the last entry it took', () => {
    const [a, b, c] = [logged('n1', 'ready', 'a'), logged('n2', 'ready', 'b'), logged('n3', 'ready', 'c')];
    expect(serverLogSince([a, b], null)).toEqual([a, b]);
    expect(serverLogSince([a, b, c], b)).toEqual([c]);
    expect(serverLogSince([a, b], b)).toEqual([]);
    // b has been dropped from the bounded log: everything left is newer.
    expect(serverLogSince([c], b)).toEqual([c]);
  });

  it("shows the engine's server log on the dashboard, and each line once", async () => {
    const log = [logged('n1', 'ready', 'LOG:  database system is ready to accept connections')];
    const controller = pgController(log);
    const rendered = renderDashboard(controller, { columns: 120, rows: 36 });
    await waitForText(rendered, 'n1 logged: database system is ready to accept connections');
    log.push(logged('n2', 'sync-standby', 'LOG:  standby "n2" is now a candidate for quorum synchronous standby'));
    const shown = await waitForText(rendered, 'n2 logged: standby "n2" is now a candidate for quorum synchronous standby');
    expect(shown.split('n1 logged:').length - 1).toBe(1);
  });

  it("says the failover manager's decisions as one process's, not consensus, on the dashboard", async () => {
    const decisions = [{ atMs: at, from: 'n1', to: 'n2', receivedLsn: 0x90b710, fenced: true, error: null }];
    const controller = Object.assign(pgController(), { failovers: () => decisions });
    const rendered = renderDashboard(controller, { columns: 200, rows: 36 });
    await waitForText(rendered, 'failover manager (not consensus), with n1 unreachable: promoted n2, the standby that had received the most WAL (0/90B710), after killing n1 first (fencing)');
    const failed = dashboardReducer(initialDashboardState(), { type: 'cluster-update', snapshot: pgSnapshot, events: [], failovers: [{ atMs: at, from: null, to: 'n3', receivedLsn: 0, fenced: false, error: 'pg_ctl promote failed' }] });
    expect(failed.log.newest()).toMatchObject({ text: 'failover manager (not consensus), with no primary: could not promote n3: pg_ctl promote failed', level: 'error' });
  });

  it('says a rewind, not a Raft rollback, lost the writes, and that the cluster has no primary', () => {
    const lines = describeEvents(
      [
        { atMs: at, event: { type: 'writes-lost', node: 'n1', writes: [{ index: 0x90f000, term: 1, kind: 'sql', sql: 'x' }], rollbackPath: '/d/n1/pg_rewind.log' } as ClusterEvent['event'] },
        { atMs: at, event: { type: 'promoted', node: 'n2', term: 2, lastIndex: 100 } as ClusterEvent['event'] },
        { atMs: at, event: { type: 'node-exited', node: 'n2', code: null, signal: 'SIGKILL', expected: true, logTail: '' } as ClusterEvent['event'] },
      ],
      initialElections,
      'postgres',
    ).lines.map((line) => line.text);
    expect(lines).toEqual([
      'LOST 1 acknowledged write: pg_rewind removed its commit from n1, the old primary (/d/n1/pg_rewind.log)',
      'n2 promoted to primary (pg_ctl promote): timeline 2, WAL at 0/64',
      'n2 exited (SIGKILL): the cluster has no primary',
    ]);
  });
});

describe('the consistency chart on PostgreSQL', () => {
  it('says D n/a: no checksums are compared, so no divergence is measured', () => {
    const state = dashboardReducer(initialDashboardState(), { type: 'cluster-update', snapshot: pgSnapshot, events: [] });
    expect(consistencyLegend(state.samples.toArray()).find((entry) => entry.mark === 'D')?.value).toBe('n/a');
    const replicaLab = dashboardReducer(initialDashboardState(), { type: 'cluster-update', snapshot: { ...pgSnapshot, engine: undefined } as Snapshot, events: [] });
    expect(consistencyLegend(replicaLab.samples.toArray()).find((entry) => entry.mark === 'D')?.value).toBe('0');
  });
});

describe('commands on PostgreSQL', () => {
  it('says a one-way cut ends the connection both ways', async () => {
    const outcome = await runCommand(pgController(), command('cut n2 -> n3'));
    expect(outcome).toMatchObject({ kind: 'message', level: 'ok' });
    expect(outcome.kind === 'message' && outcome.text).toBe('n2 -> n3 cut: a replication connection cannot run one way, so the one between them ends both ways, as in a partition; h heals');
  });

  it('says a link between two standbys changes nothing, not that it shows in an election', async () => {
    expect(standbysOnlyNote([['n1', 'n3']], 'n2')).toBe('Both are standbys: no replication connection runs between them (each streams from the primary n2), so this changes nothing until one of them is promoted');
    expect(standbysOnlyNote([['n1', 'n2']], 'n2')).toBeNull();
    const outcome = await runCommand(pgController(), command('delay n1 n3 200'));
    expect(outcome.kind === 'message' && outcome.text).toContain('Both are standbys');
    expect(outcome.kind === 'message' && outcome.text).not.toContain('election');
  });

  it('never says a majority confirmed a read, and shows LSNs, timelines and the primary', async () => {
    const controller = pgController();
    const read = await runCommand(controller, command('read n2 linearizable SELECT 1'));
    expect(read.kind === 'result' && read.result.title).toMatch(/^linearizable read on the primary n2: PostgreSQL has no ReadIndex or lease, nothing confirmed it still is the primary · n2 at LSN 0\/6E · /);
    const lease = await runCommand(controller, command('read n2 lease SELECT 1'));
    expect(lease.kind === 'result' && lease.result.title).not.toMatch(/majority|its lease/);
    const sql = await runCommand(controller, command('sql SELECT 1'));
    expect(sql.kind === 'result' && sql.result.title).toMatch(/^read on the primary · /);
    const write = await runCommand(controller, command('write n2 UPDATE kv SET v = 1'));
    expect(write.kind === 'result' && write.result.columns).toEqual(['lsn', 'timeline', 'primary', 'statement']);
    expect(write.kind === 'result' && write.result.rows[0]!.slice(0, 3)).toEqual(['0/78', '3', 'n2']);
    expect(busyText(command('read n2 linearizable SELECT 1'), 'postgres')).toBe('reading on the primary (PostgreSQL has no ReadIndex or lease)…');
  });

  it("says a rebuild copies the standby's data again, not that its term and vote were kept", async () => {
    const outcome = await runCommand(pgController(), command('rebuild n3'));
    expect(outcome.kind === 'message' && outcome.text).toBe("n3's data removed and copied again from the primary (pg_basebackup): it streams from there as a standby");
    expect(busyText(command('rebuild n3'), 'postgres')).toBe("removing n3's data and copying it again from the primary (pg_basebackup)…");
  });
});
