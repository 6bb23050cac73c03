// Membership change in the dashboard: learners and joining nodes in the node
// table, the quorum in the header, who joined or left in the event log, and a
// table of 9 nodes in 80×24.

import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../cluster/index.js';
import { Header } from '../../tui/components/header.js';
import { NodeTable } from '../../tui/components/node-table.js';
import { computeLayout } from '../../tui/layout.js';
import { describeEvent, initialElections } from '../../tui/state/event-log.js';
import { frame } from './fixtures/recorded-controller.js';

const none = new Set<string>();

/** The recorded steady frame (n2 leads n1 and n3), plus n4: as a learner, or not yet in the configuration. */
function withN4(member: 'learner' | null): NodeStatus[] {
  const steady = frame('steady');
  const voters = steady.nodes.map((node) => ({ ...node, member: 'voter' as const }));
  return [...voters, { ...voters[0]!, id: 'n4', pid: 4444, member }];
}

describe('membership in the dashboard', () => {
  it('says learner or joining in the role column, and nothing new for recordings without membership', () => {
    const steady = frame('steady');
    const learner = render(<NodeTable nodes={withN4('learner')} leader={steady.leader} selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    const lines = learner.lastFrame()!.split('\n');
    expect(lines.find((line) => line.includes('n4'))).toMatch(/^ {2}n4\s+learner\s+1\s/);
    expect(lines.find((line) => line.includes('n1'))).toMatch(/n1\s+follower/);
    expect(lines.find((line) => line.includes('n2'))).toMatch(/n2\s+leader/);
    const joining = render(<NodeTable nodes={withN4(null)} leader={steady.leader} selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    expect(joining.lastFrame()).toMatch(/n4\s+joining/);
    const recorded = render(<NodeTable nodes={steady.nodes} leader={steady.leader} selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    expect(recorded.lastFrame()).not.toMatch(/joining|learner/);
  });

  it('shows the quorum the voters need in the header: learners never count', () => {
    const steady = frame('steady');
    const snapshot = { atMs: steady.atMs, nodes: withN4('learner'), leader: steady.leader, replication: steady.replication, workload: steady.workload, lostWrites: 0 };
    const { lastFrame } = render(<Header snapshot={snapshot} failover="raft" uptimeMs={65_000} width={130} color={false} />);
    expect(lastFrame()).toContain('│ quorum 2/3 │');
    const four = { ...snapshot, nodes: snapshot.nodes.map((node) => ({ ...node, member: 'voter' as const })) };
    expect(render(<Header snapshot={four} failover="raft" uptimeMs={65_000} width={130} color={false} />).lastFrame()).toContain('│ quorum 3/4 │');
    // At 80 columns the quorum stays while the less useful parts go.
    expect(render(<Header snapshot={four} failover="raft" uptimeMs={65_000} width={80} color={false} />).lastFrame()).toContain('quorum 3/4');
  });

  it('writes who joined or left, and the majority before and after, in the event log', () => {
    const joined = describeEvent(
      { atMs: 1, event: { type: 'membership', change: 'joined', node: 'n4', as: 'voter', voters: ['n1', 'n2', 'n3', 'n4'], learners: [], majorityBefore: 2, majorityAfter: 3, index: 57 } },
      initialElections,
    );
    expect(joined.line).toEqual({ text: 'n4 joined as a voter: voters n1 n2 n3 n4; majority 2 -> 3 (index 57)', level: 'notice' });
    const left = describeEvent(
      { atMs: 2, event: { type: 'membership', change: 'left', node: 'n2', as: null, voters: ['n1', 'n3', 'n4'], learners: ['n5'], majorityBefore: 3, majorityAfter: 2, index: 80 } },
      initialElections,
    );
    expect(left.line?.text).toBe('n2 left the cluster: voters n1 n3 n4, learners n5; majority 3 -> 2 (index 80)');
  });

  it('fits 9 nodes in 80×24 with the charts and the event log', () => {
    const layout = computeLayout({ columns: 80, rows: 24 }, 9);
    expect(layout.tooSmall).toBe(false);
    expect(layout.tableRows).toBe(10);
    expect(layout.chartRows).toBeGreaterThanOrEqual(4);
    expect(layout.logRows).toBeGreaterThanOrEqual(2);
  });
});
