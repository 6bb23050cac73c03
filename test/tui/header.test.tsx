import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { Header } from '../../tui/components/header.js';
import type { Snapshot } from '../../tui/state/dashboard-state.js';
import { frame } from './fixtures/recorded-controller.js';
import { renderAt } from './helpers.js';

function snapshotOf(label: string): Snapshot {
  const f = frame(label);
  return { atMs: f.atMs, nodes: f.nodes, leader: f.leader, replication: f.replication, workload: f.workload, lostWrites: f.lostWrites };
}

describe('header', () => {
  it('shows mode, ack level, failover, term, leader, rates and uptime', () => {
    const tree = <Header snapshot={snapshotOf('steady')} failover="raft" uptimeMs={65_000} width={120} color={false} />;
    const { lastFrame, rerender } = renderAt(tree, 120);
    // With CI set, Ink ignores resize events: render again so the 120 columns apply there too.
    rerender(tree);
    expect(lastFrame()).toBe('replica-lab │ quorum/flushed │ failover raft │ term 1 │ leader n2 │ writes 24/s reads 26/s │ load 50/s │ up 1:05');
  });

  it('says plainly when there is no leader', () => {
    const { lastFrame } = render(<Header snapshot={snapshotOf('leader killed')} failover="manual" uptimeMs={1_000} width={100} color={false} />);
    expect(lastFrame()).toContain('NO LEADER');
    expect(lastFrame()).toContain('failover manual');
  });

  it('drops the least useful parts first to fit 80 columns', () => {
    const { lastFrame } = render(<Header snapshot={snapshotOf('steady')} failover="raft" uptimeMs={65_000} width={80} color={false} />);
    expect(lastFrame()).toBe('quorum/flushed │ failover raft │ term 1 │ leader n2 │ writes 24/s reads 26/s');
  });

  it('reads "starting" before the first snapshot', () => {
    const { lastFrame } = render(<Header snapshot={null} failover="raft" uptimeMs={0} width={80} color={false} />);
    expect(lastFrame()).toContain('starting the cluster');
  });
});
