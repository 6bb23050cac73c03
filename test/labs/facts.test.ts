// Facts the labs state about real systems and about this cluster, pinned so a
// rewrite cannot bring back a wrong one (issue 15, "facts that are wrong or
// misleading"). The partition lab's facts (5, 6) are pinned with its checks in
// checks.test.ts.

import { describe, expect, it } from 'vitest';
import { asyncLostWrites } from '../../labs/catalog/async-lost-writes.js';
import { firstSteps } from '../../labs/catalog/first-steps.js';
import { lagAnomalies } from '../../labs/catalog/lag-anomalies.js';
import { splitBrain } from '../../labs/catalog/split-brain.js';
import { syncCost } from '../../labs/catalog/sync-cost.js';
import type { AnyLab, LiveText } from '../../labs/types.js';
import { baseline, observation } from './snapshot.js';

const text = (t: LiveText): string => (typeof t === 'string' ? t : t(observation(), baseline()));
const hint = (lab: AnyLab, title: string): string => text(lab.steps.find((s) => s.title === title)!.hint);
const run = { stepsPassed: 0, steps: 0, elapsedMs: 0, writesAcknowledged: 0, lostWrites: 0 };

describe('lab facts', () => {
  it('1. sync-cost: sync is restored at a fixed target, the last index when the leader degraded; no "previous heartbeat"', () => {
    const h = hint(syncCost, 'Resume the follower');
    expect(h).not.toMatch(/previous heartbeat|never quite/);
    expect(h).toMatch(/last log index/);
    expect(h).toMatch(/fixed index/);
    expect(h).toMatch(/MySQL semi-sync/);
    expect(syncCost.debrief({ restoredIndex: 812 }, run).join(' ')).toMatch(/reached index 812, the leader's last index when it degraded/);
  });

  it('2. async-lost-writes: MongoDB w:1 acknowledges once the primary applied the write; on disk only with j:true', () => {
    const h = hint(asyncLostWrites, 'Switch to async');
    expect(h).toMatch(/w:1 \(the primary acknowledges once it has applied the write in memory; on its disk, in the journal, only with j:true\)/);
    expect(h).not.toMatch(/w:1[^.]*own disk/);
  });

  it('4. lag-anomalies: follower reads are not called committed; followers apply before commit', () => {
    const lines = lagAnomalies.debrief({ slowFollower: 'n3', delayMs: 200, rywViolations: 3, anomalyReads: 40, monotonicViolations: 2 }, run).join(' ');
    expect(lines).not.toMatch(/real, committed/);
    expect(lines).toMatch(/applies entries as they arrive, before the leader has counted them on a majority/);
  });

  it('8. split-brain: the term is not called a fencing token; the followers\' lower-term rejection is named as the fencing', () => {
    const all = [
      splitBrain.summary,
      ...splitBrain.concepts,
      ...splitBrain.steps.flatMap((s) => [text(s.instruction), text(s.hint)]),
      ...splitBrain.debrief({ oldPrimary: 'n1', fencedPrimary: 'n1', fencedTerm: 3, fencedLost: 2 }, run),
    ].join(' ');
    expect(all).not.toMatch(/term (is|as) a fencing token|terms as fencing tokens/);
    expect(all).toMatch(/a follower rejects appends from a term lower than its own/);
    expect(all).toMatch(/third replica never took what the old primary acknowledged while cut off, with fencing on or off/);
    expect(all).toMatch(/DDIA \(ch\. 8\): the resource being written checks the number/);
  });

  it('first-steps: a MongoDB or PostgreSQL refusal does not name the primary; only this cluster\'s NotLeader does', () => {
    const h = hint(firstSteps, 'Write to a follower');
    expect(h).not.toMatch(/names the leader so a client \(or driver\) can retry there, as MongoDB/);
    expect(h).toMatch(/Those two do not name the primary/);
    expect(h).toMatch(/hello command/);
    expect(h).toMatch(/target_session_attrs=read-write/);
  });

  it('split-brain: the old primary\'s write is acknowledged, not called committed: it was never on a majority', () => {
    const h = hint(splitBrain, 'Compare the replicas');
    expect(h).not.toMatch(/committed answers/);
    expect(h).toMatch(/never on a majority/);
  });

  it('10. first-steps: pg_stat_replication reports times and LSN byte positions, not entries behind', () => {
    const h = hint(firstSteps, 'Slow a link and watch lag');
    expect(h).toMatch(/write_lag, flush_lag and replay_lag/);
    expect(h).toMatch(/LSNs, byte positions/);
    expect(h).not.toMatch(/pg_stat_replication does: how old .* how many entries/);
  });
});

describe('the async-lost-writes debrief on its rollback file', () => {
  const facts = { rollbackPath: '/d/cluster-1/n1/rollback/x.jsonl', proofKey: 'only-on-the-old-leader', proofSql: "INSERT OR REPLACE INTO kv(k, v) VALUES ('only-on-the-old-leader', 'acknowledged by n1')" };

  it('names the file and the :sql that re-applies the lost write', () => {
    const lines = asyncLostWrites.debrief(facts, run).join('\n');
    expect(lines).toContain('/d/cluster-1/n1/rollback/x.jsonl');
    expect(lines).toContain(`:sql ${facts.proofSql}`);
  });

  it('says whether the file outlives the run', () => {
    expect(asyncLostWrites.debrief(facts, { ...run, dataKept: true }).join('\n')).toContain('The file stays after you quit (--data-dir).');
    expect(asyncLostWrites.debrief(facts, run).join('\n')).toContain('run the lab with --data-dir <dir> to keep the file');
  });
});
