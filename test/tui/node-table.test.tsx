import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { NodeTable, nodeStates } from '../../tui/components/node-table.js';
import { agedRows } from '../../tui/state/row-ages.js';
import { frame } from './fixtures/recorded-controller.js';
import { renderAt } from './helpers.js';

const none = new Set<string>();

function rows(text: string): string[] {
  return text.split('\n');
}

describe('node table (recorded status() snapshots)', () => {
  it('shows every node with role, term, indexes, lag and state, and marks the selected one', () => {
    const steady = frame('steady');
    const { lastFrame } = render(<NodeTable nodes={steady.nodes} leader={steady.leader} selected={1} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    const [header, n1, n2, n3] = rows(lastFrame()!);
    expect(header).toMatch(/node\s+role\s+term\s+last\s+commit\s+applied\s+write\s+flush\s+replay\s+state/);
    expect(n1).toMatch(/^ {2}n1\s+follower\s+1\s+41\s+40\s+41\s+0ms\s+0ms\s+0ms\s+● up$/);
    // The recording caught the leader's report 19 ms before its followers': its log looks shorter
    // (40 vs 41), and its row says it is the older moment.
    expect(n2).toMatch(/^▸ n2\s+leader\s+1\s+40\s+40\s+40\s+—\s+—\s+—\s+◷ 51ms ago$/);
    expect(n3).toMatch(/^ {2}n3\s+follower/);
    for (const line of rows(lastFrame()!)) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('says killed, paused and catching up in words, and shows a dead follower’s growing lag', () => {
    const after = frame('new leader');
    const { lastFrame } = render(<NodeTable nodes={after.nodes} leader={after.leader} selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    const n2 = rows(lastFrame()!).find((line) => line.includes('n2'))!;
    expect(n2).toMatch(/n2\s+down\s+1\s+40\s+40\s+40\s+502ms\s+502ms\s+502ms\s+✕ killed/);
    const paused = frame('follower paused');
    const second = render(<NodeTable nodes={paused.nodes} leader={paused.leader} selected={0} crashed={new Set(['n2'])} divergent={none} width={80} wide={false} color={false} />);
    expect(second.lastFrame()).toMatch(/n3\s+follower.*‖ paused/);
    expect(second.lastFrame()).toMatch(/n2\s+down.*✕ crashed/);
    expect(second.lastFrame()).toMatch(/n1\s+pre-cand/);
  });

  it('lists every state that applies, worst first, with glyph and word', () => {
    const node = { ...frame('steady').nodes[0]!, paused: true, isolated: true };
    expect(nodeStates(node, { leader: 'n2', crashed: none, divergent: new Set(['n1']) }).map((s) => `${s.glyph} ${s.word}`)).toEqual(['≠ diverged', '‖ paused', '⊘ isolated']);
    const behind = { ...frame('steady').nodes[0]!, lag: { writeLagMs: 900, flushLagMs: 900, replayLagMs: 900, entries: 300, bytes: 4096 } };
    expect(nodeStates(behind, { leader: 'n2', crashed: none, divergent: none }).map((s) => s.word)).toEqual(['catching up']);
  });

  it('does not say catching up while a node is cut off: the leader only watches its lag grow', () => {
    const cutOff = { ...frame('steady').nodes[0]!, isolated: true, role: 'pre-candidate' as const, lag: { writeLagMs: 2_400, flushLagMs: 2_400, replayLagMs: 2_400, entries: 120, bytes: 24_000 } };
    expect(nodeStates(cutOff, { leader: 'n2', crashed: none, divergent: none }).map((s) => `${s.glyph} ${s.word}`)).toEqual(['⊘ isolated']);
    const { lastFrame } = render(<NodeTable nodes={[cutOff]} leader="n2" selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    expect(lastFrame()).toMatch(/n1\s+pre-cand.*⊘ isolated$/m);
    expect(lastFrame()).not.toContain('catching up');
    // Cut off by a partition (not isolated: it still reaches another node), it no longer follows n2.
    const partitioned = { ...cutOff, isolated: false, leader: null };
    expect(nodeStates(partitioned, { leader: 'n2', crashed: none, divergent: none }).map((s) => s.word)).toEqual(['up']);
    // Healed, following n2 again, the same lag is a node catching up.
    expect(nodeStates({ ...cutOff, isolated: false, role: 'follower', leader: 'n2' }, { leader: 'n2', crashed: none, divergent: none }).map((s) => s.word)).toEqual(['catching up']);
  });

  it('marks a row that is an earlier moment than the others with its age, and changes no number', () => {
    const [n1, n2, n3] = frame('steady').nodes;
    // The screen: the leader at 689 while its followers show 695 and 702.
    const nodes = [
      { ...n1!, lastIndex: 695, commitIndex: 689, appliedIndex: 695, reportAgeMs: 90 },
      { ...n2!, lastIndex: 689, commitIndex: 689, appliedIndex: 689, reportAgeMs: 420 },
      { ...n3!, lastIndex: 702, commitIndex: 689, appliedIndex: 702, reportAgeMs: 20 },
    ];
    expect([...agedRows(nodes, 'n2')]).toEqual([['n2', 420]]);
    const { lastFrame } = render(<NodeTable nodes={nodes} leader="n2" selected={0} crashed={none} divergent={none} width={80} wide={false} color={false} />);
    const [, first, leader, third] = rows(lastFrame()!);
    expect(leader).toMatch(/n2\s+leader\s+1\s+689\s+689\s+689\s.*◷ 420ms ago$/);
    expect(first).toMatch(/n1\s+follower\s+1\s+695\s.*● up$/);
    expect(third).toMatch(/n3\s+follower\s+1\s+702\s.*● up$/);
    for (const line of rows(lastFrame()!)) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('leaves rows of about one moment alone, and marks any row far older than the freshest', () => {
    const [n1, n2, n3] = frame('steady').nodes;
    // The usual spread of reports, the leader ahead: nothing to explain.
    const usual = [
      { ...n1!, lastIndex: 40, reportAgeMs: 30 },
      { ...n2!, lastIndex: 41, reportAgeMs: 95 },
      { ...n3!, lastIndex: 40, reportAgeMs: 5 },
    ];
    expect(agedRows(usual, 'n2').size).toBe(0);
    // A follower whose reports stopped arriving for a while (its event loop was busy).
    const late = [usual[0]!, usual[1]!, { ...usual[2]!, reportAgeMs: 640 }];
    expect([...agedRows(late, 'n2')]).toEqual([['n3', 640]]);
    // A paused node says paused; a dead one has no report to date.
    const stopped = [usual[0]!, usual[1]!, { ...usual[2]!, paused: true, reportAgeMs: 5_000 }];
    expect(agedRows(stopped, 'n2').size).toBe(0);
    // A follower of another term with a longer log (entries a new leader has not truncated yet) is not compared.
    const oldTerm = [usual[0]!, { ...usual[1]!, term: 2, reportAgeMs: 60 }, { ...usual[2]!, term: 1, lastIndex: 90, reportAgeMs: 10 }];
    expect(agedRows(oldTerm, 'n2').size).toBe(0);
    // The commit index too: a follower learns commits from its leader, so one ahead of it is most
    // often the leader's older report (the age is shown either way; it is true in any case).
    const commit = [usual[0]!, { ...usual[1]!, commitIndex: 38 }, { ...usual[2]!, commitIndex: 40 }];
    expect([...agedRows(commit, 'n2')]).toEqual([['n2', 95]]);
  });

  it('adds pid, entries and bytes behind, checksum and memory when wide', () => {
    const steady = frame('steady');
    const rendered = renderAt(<NodeTable nodes={steady.nodes} leader={steady.leader} selected={0} crashed={none} divergent={none} width={200} wide color={false} />, 200);
    const text = rendered.lastFrame()!;
    expect(text).toMatch(/pid\s+term.*behind\s+bytes\s+checksum@index\s+snap\s+wal\s+rss\s+seen/);
    expect(text).toContain(String(steady.nodes[0]!.pid));
    expect(text).toContain(`${steady.nodes[0]!.checksum!.value.slice(0, 6)}@${steady.nodes[0]!.checksum!.index}`);
  });

  it("shows each node's snapshot index and WAL kept at 140 columns, with its state still in the row", () => {
    const steady = frame('steady');
    const nodes = steady.nodes.map((node, i) => ({ ...node, snapshotIndex: i === 0 ? 48_201 : 0, walBytesRetained: i === 0 ? 1_153_434 : 65_536 }));
    const text = renderAt(<NodeTable nodes={nodes} leader={steady.leader} selected={0} crashed={none} divergent={none} width={140} wide color={false} />, 140).lastFrame()!;
    const [header, first, second] = rows(text);
    expect(header).toMatch(/checksum@index\s+snap\s+wal\s+rss\s+seen\s+state/);
    expect(first).toMatch(/48201\s+1\.1MiB/);
    expect(second).toMatch(/–\s+64KiB/);
    // Recorded status from before snapshots has neither field: shown as –, not as a crash.
    const old = steady.nodes.map(({ snapshotIndex: _s, walBytesRetained: _w, ...rest }) => rest) as unknown as typeof steady.nodes;
    expect(renderAt(<NodeTable nodes={old} leader={steady.leader} selected={0} crashed={none} divergent={none} width={140} wide color={false} />, 140).lastFrame()).toContain('state');
    for (const row of [first, second]) expect(row).toMatch(/ (up|catching up|\d+ms ago)|◷|●/);
  });
});
