// The dashboard on an engine without the Raft-only members (cluster/engine.ts):
// a command that needs one says so in one line and calls nothing; the shared
// commands run as on replica-lab; the header names the engine.

import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { EngineCapabilities, ReplicationEngine } from '../../cluster/engine.js';
import { parseCommand } from '../../tui/commands/parse.js';
import { runCommand } from '../../tui/commands/run.js';
import type { ClusterCommand } from '../../tui/commands/spec.js';
import { Header } from '../../tui/components/header.js';
import type { ClusterController, EngineController } from '../../tui/controller.js';
import { engineName, engineRefusal } from '../../tui/engine.js';
import type { Snapshot } from '../../tui/state/dashboard-state.js';
import { frame, recording, RecordedController } from './fixtures/recorded-controller.js';
import { keys, press, renderDashboard, waitForText } from './helpers.js';

afterEach(() => {
  cleanup();
});

const ids = ['n1', 'n2', 'n3'];
const none: EngineCapabilities = { raft: false, snapshots: false, membership: false, trace: false, nodeFaults: false, clock: false };

function command(line: string): ClusterCommand {
  const parsed = parseCommand(line, ids);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.command as ClusterCommand;
}

/** A PostgreSQL-like engine: only the shared members (no setClockRate, trace, addNode, …), recorded. */
function sharedOnly(recorded: RecordedController): ClusterController {
  const engine: EngineController = {
    engine: 'postgres',
    capabilities: none,
    ids: recorded.ids,
    dataDir: recorded.dataDir,
    workload: recorded.workload,
    status: () => recorded.status(),
    events: () => recorded.events(),
    on: (name, listener) => recorded.on(name, listener),
    off: (name, listener) => recorded.off(name, listener),
    leader: () => recorded.leader(),
    replicationSettings: () => recorded.replicationSettings(),
    lostWrites: () => recorded.lostWrites(),
    execute: (sql, params, options) => recorded.execute(sql, params, options),
    query: (sql, params, options) => recorded.query(sql, params, options),
    kill: (id) => recorded.kill(id),
    restart: (id, options) => recorded.restart(id, options),
    pause: (id) => recorded.pause(id),
    resume: (id) => recorded.resume(id),
    partition: (groups) => recorded.partition(groups),
    cut: (from, to) => recorded.cut(from, to),
    setLink: (from, to, options) => recorded.setLink(from, to, options),
    heal: () => recorded.heal(),
    setReplication: (change) => recorded.setReplication(change),
    promote: (id) => recorded.promote(id),
    stop: () => recorded.stop(),
  };
  return engine;
}

describe('Raft-only commands on another engine', () => {
  it.each([
    ['trace', ':trace needs the replica-lab engine: the PostgreSQL engine has no X-ray of one write through its processes'],
    ['clock n1 0.5', ':clock needs the replica-lab engine: PostgreSQL has no election timers or leases to run fast or slow'],
    ['disk n2 slow 50', ":disk needs the replica-lab engine: the PostgreSQL engine does not slow a server's WAL flush or replay"],
    ['apply n2 slow 5', ":apply needs the replica-lab engine: the PostgreSQL engine does not slow a server's WAL flush or replay"],
    ['transfer n3', ':transfer needs the replica-lab engine: PostgreSQL has no leadership transfer: :promote a standby instead'],
    ['snapshot n2', ':snapshot needs the replica-lab engine: PostgreSQL has no Raft snapshot: a standby is built by pg_basebackup'],
    ['add learner', ':add needs the replica-lab engine: PostgreSQL has no voting membership to change'],
    ['promote-learner n3', ':promote-learner needs the replica-lab engine: PostgreSQL has no learners or voters'],
    ['remove n3', ':remove needs the replica-lab engine: PostgreSQL has no voting membership to change'],
    ['retain 256KiB', ':retain needs the replica-lab engine: PostgreSQL has no snapshot policy (its counterpart, max_slot_wal_keep_size, is a server setting)'],
  ])(':%s says it needs the replica-lab engine, in one line, and calls nothing', async (line, text) => {
    const recorded = new RecordedController();
    const outcome = await runCommand(sharedOnly(recorded), command(line));
    expect(outcome).toEqual({ kind: 'message', level: 'info', text });
    expect(recorded.calls).toEqual([]);
  });

  it('runs the shared commands as on replica-lab', async () => {
    const recorded = new RecordedController();
    const engine = sharedOnly(recorded);
    expect(await runCommand(engine, command('kill n1'))).toMatchObject({ level: 'ok', text: 'n1 killed (SIGKILL)' });
    expect(await runCommand(engine, command('promote n3'))).toMatchObject({ level: 'ok', text: 'n3 promoted' });
    expect(await runCommand(engine, command('partition n1 | n2 n3'))).toMatchObject({ level: 'ok' });
    expect(recorded.calls.map((call) => call.method)).toEqual(['kill', 'promote', 'partition']);
  });

  it('lets a Raft-only command through where the engine has the capability (a stand-in without capabilities has them all)', async () => {
    const recorded = new RecordedController();
    expect(engineRefusal(recorded, command('clock n1 0.5'))).toBeNull();
    expect(await runCommand(recorded, command('clock n1 0.5'))).toMatchObject({ level: 'ok' });
    expect(recorded.callsOf('setClockRate')).toEqual([['n1', 0.5]]);
    const withClockOnly = Object.assign(new RecordedController(), { engine: 'postgres' as const, capabilities: { ...none, clock: true } });
    expect(engineRefusal(withClockOnly, command('clock n1 0.5'))).toBeNull();
    expect(engineRefusal(withClockOnly, command('transfer n1'))).toMatch(/^:transfer needs the replica-lab engine/);
  });

  it('names the engine', () => {
    expect(engineName(new RecordedController())).toBe('replica-lab');
    expect(engineName(sharedOnly(new RecordedController()))).toBe('PostgreSQL');
  });
});

describe('the header on another engine', () => {
  const f = frame('steady');
  const snapshot: Snapshot = { atMs: f.atMs, nodes: f.nodes, leader: f.leader, replication: f.replication, workload: f.workload, lostWrites: f.lostWrites };

  it('says which engine runs the cluster, and keeps saying it at 80 columns', () => {
    expect(render(<Header snapshot={snapshot} failover="manual" uptimeMs={65_000} width={200} color={false} engine="postgres" />).lastFrame()).toMatch(/^replica-lab │ on PostgreSQL │ quorum\/flushed │ /);
    const narrow = render(<Header snapshot={snapshot} failover="manual" uptimeMs={65_000} width={80} color={false} engine="postgres" />).lastFrame() ?? '';
    expect(narrow).toMatch(/^on PostgreSQL │ /);
    expect(narrow.length).toBeLessThanOrEqual(80);
  });

  it('adds nothing on the replica-lab engine', () => {
    expect(render(<Header snapshot={snapshot} failover="raft" uptimeMs={65_000} width={120} color={false} engine="replica-lab" />).lastFrame()).toBe(
      render(<Header snapshot={snapshot} failover="raft" uptimeMs={65_000} width={120} color={false} />).lastFrame(),
    );
  });
});

/** The recorded run, said to be on an engine with none of the Raft-only capabilities. */
class PostgresLikeController extends RecordedController {
  readonly engine = 'postgres' as const;
  readonly capabilities = none;
}

describe('the dashboard on another engine', () => {
  it('takes any ReplicationEngine as its controller', () => {
    expectTypeOf<ReplicationEngine>().toExtend<ClusterController>();
  });

  it('at 120×36: the header names the engine, :trace says it needs replica-lab, v says there are no Raft messages', async () => {
    const controller = new PostgresLikeController({ frame: frame('steady'), backlog: recording.events.slice(0, 19) });
    const rendered = renderDashboard(controller, { columns: 120, rows: 36 });
    const first = await waitForText(rendered, 'elected leader');
    // At 120 columns the product name is the first part dropped; the engine stays.
    expect(first.split('\n')[0]).toMatch(/^on PostgreSQL │ quorum\/flushed │ /);
    await press(rendered, ':', 'trace', keys.enter);
    const traced = await waitForText(rendered, ':trace needs the replica-lab engine');
    expect(traced).toContain(':trace needs the replica-lab engine: the PostgreSQL engine has no X-ray of one write through its processes');
    await press(rendered, ':', 'clock n1 0.5', keys.enter);
    await waitForText(rendered, ':clock needs the replica-lab engine');
    expect(controller.calls.map((call) => call.method)).toEqual([]);
    // v opens no message pane with empty lanes: it says why, and the event log stays.
    await press(rendered, 'v');
    const told = await waitForText(rendered, 'v: the Raft message pane needs the replica-lab engine; PostgreSQL has no Raft messages');
    expect(told).not.toContain('messages live');
  });
});
