// The dashboard's own words on the PostgreSQL engine (issue 17, "same
// dashboard"): timeline not term, how it fails over, the PostgreSQL setting
// beside the replica-lab mode, LSNs in PostgreSQL's notation, and no "applied
// beyond commit" count where there is no commit index. Fake engines, in-process.

import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../cluster/index.js';
import { consistencyLegend, consistencySeries } from '../../tui/charts/chart-data.js';
import { Header } from '../../tui/components/header.js';
import { formatLsn, NodeTable } from '../../tui/components/node-table.js';
import { takeSnapshot } from '../../tui/hooks/use-cluster-feed.js';
import { dashboardReducer, initialDashboardState, type Snapshot } from '../../tui/state/dashboard-state.js';
import { frame, RecordedController } from './fixtures/recorded-controller.js';

afterEach(() => {
  cleanup();
});

const f = frame('steady');
const snapshot: Snapshot = { atMs: f.atMs, nodes: f.nodes, leader: f.leader, replication: f.replication, workload: f.workload, lostWrites: f.lostWrites };
const none = new Set<string>();

/** The steady frame's nodes as the PostgreSQL engine reports them: commitIndex 0, positions in LSN bytes (0/90CD78, 0/90CD00). */
const pgNodes: NodeStatus[] = f.nodes.map((node) => ({ ...node, commitIndex: 0, lastIndex: 0x90cd78, appliedIndex: node.id === f.leader ? 0x90cd78 : 0x90cd00 }));

describe('the header on PostgreSQL', () => {
  // The steady frame: quorum/flushed with n2 the primary, so the engine reports ANY 1 over the other two.
  const pgSnapshot: Snapshot = { ...snapshot, engine: 'postgres', pgSetting: 'ANY 1 (n1, n3)' };
  const header = (width: number, extra: { pgFailover?: string } = {}) =>
    render(<Header snapshot={pgSnapshot} failover="raft" uptimeMs={65_000} width={width} color={false} engine="postgres" {...extra} />).lastFrame() ?? '';

  it('says timeline, not term, and how PostgreSQL fails over, never "failover raft"', () => {
    const line = header(200);
    expect(line).toContain(' │ timeline 1 │ ');
    expect(line).not.toMatch(/\bterm\b|failover raft/);
    expect(line).toContain(' │ failover manual │ ');
    expect(header(200, { pgFailover: 'auto manager +fencing' })).toContain(' │ failover auto manager +fencing │ ');
  });

  it('shows the PostgreSQL setting beside the replica-lab mode where it fits, and only the mode where it does not', () => {
    expect(header(200)).toMatch(/^replica-lab │ on PostgreSQL │ quorum · ANY 1 \(n1, n3\)\/flushed │ failover manual │ /);
    const narrow = header(100);
    expect(narrow).toMatch(/^on PostgreSQL │ quorum\/flushed │ /);
    expect(narrow).not.toContain('ANY');
    expect(narrow.length).toBeLessThanOrEqual(100);
    const asyncLine = render(
      <Header snapshot={{ ...pgSnapshot, replication: { ...f.replication!, mode: 'async' }, pgSetting: '' }} failover="raft" uptimeMs={65_000} width={200} color={false} engine="postgres" />,
    ).lastFrame();
    expect(asyncLine).toContain(' │ async · no sync standby/flushed │ ');
  });

  it('shows only the mode when the engine reports no setting (no primary) or is replica-lab', () => {
    const noPrimary = render(<Header snapshot={{ ...pgSnapshot, pgSetting: null }} failover="raft" uptimeMs={65_000} width={200} color={false} engine="postgres" />).lastFrame();
    expect(noPrimary).toMatch(/^replica-lab │ on PostgreSQL │ quorum\/flushed │ failover manual │ /);
  });

  it('keeps the replica-lab header word for word, whatever the snapshot carries', () => {
    const line = render(<Header snapshot={pgSnapshot} failover="raft" uptimeMs={65_000} width={200} color={false} pgFailover="manual" />).lastFrame() ?? '';
    expect(line).toMatch(/^replica-lab │ quorum\/flushed │ failover raft │ term 1 │ leader n2 │ writes /);
  });
});

describe('the node table on PostgreSQL', () => {
  it('formats positions as PostgreSQL prints LSNs', () => {
    expect(formatLsn(0)).toBe('0/0');
    expect(formatLsn(9_489_784)).toBe('0/90CD78');
    expect(formatLsn(2 ** 32 + 0x3000148)).toBe('1/3000148');
  });

  it('shows tli and LSN columns that fit, with no commit column, and PostgreSQL\'s roles (primary, standby), at 80 columns', () => {
    const lines = (render(<NodeTable nodes={pgNodes} leader={f.leader} selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} engine="postgres" />).lastFrame() ?? '').split('\n');
    expect(lines[0]).toMatch(/^ {2}node {2}role {6}tli {4}last lsn {2}replay lsn {2}write {2}flush replay {2}state$/);
    expect(lines[1]).toMatch(/^▸ n1 {4}standby {5}1 {4}0\/90CD78 {4}0\/90CD00 .* ● up$/);
    expect(lines[2]).toMatch(/^ {2}n2 {4}primary {5}1 {4}0\/90CD78 {4}0\/90CD78 {6}— {6}— {6}— {2}● up$/);
    expect(lines.every((line) => line.length <= 80)).toBe(true);
  });

  it('leaves the replica-lab table as it was', () => {
    const shown = render(<NodeTable nodes={f.nodes} leader={f.leader} selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />).lastFrame() ?? '';
    expect(shown.split('\n')[0]).toMatch(/^ {2}node {2}role {6}term {3}last commit applied/);
  });
});

describe('the consistency chart on PostgreSQL', () => {
  const update = (s: Snapshot) => dashboardReducer(initialDashboardState(), { type: 'cluster-update', snapshot: s, events: [] });

  it('has no "applied beyond commit" count: PostgreSQL has no commit index to compare an LSN with', () => {
    // The cause: applied (LSN bytes) minus commitIndex (0) read as entries ahead.
    const asIfRaft = update({ ...snapshot, nodes: pgNodes }).samples.toArray();
    expect(asIfRaft.at(-1)?.uncommittedVisible).toBe(0x90cd78);
    const samples = update({ ...snapshot, nodes: pgNodes, engine: 'postgres' }).samples.toArray();
    expect(samples.at(-1)?.uncommittedVisible).toBeNull();
    expect(consistencySeries(samples).map((series) => series.endLabel)).not.toContain('U');
    expect(consistencyLegend(samples).find((entry) => entry.mark === 'U')?.value).toBe('n/a');
  });

  it('takes the engine and its setting into the snapshot only when it is not replica-lab', () => {
    const replicaLab = new RecordedController();
    expect(takeSnapshot(replicaLab, 1).engine).toBeUndefined();
    const pg = Object.assign(new RecordedController(), { engine: 'postgres' as const, pgSetting: () => 'FIRST 1 (n2)' });
    expect(takeSnapshot(pg, 1)).toMatchObject({ engine: 'postgres', pgSetting: 'FIRST 1 (n2)' });
    expect('pgSetting' in takeSnapshot(replicaLab, 1)).toBe(false);
  });
});
