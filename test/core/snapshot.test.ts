// Snapshots, log compaction and InstallSnapshot in the pure core: a log that
// starts after a snapshot, a leader that sends its snapshot to a follower
// behind the compaction point (and no appends meanwhile), a follower that
// installs it and keeps the log after it only where it matches, and restarts
// from a snapshot plus a shorter log.

import { describe, expect, it } from 'vitest';
import { LogPositions, RaftLog, entryBytes, type Entry, type Message } from '../../cluster/core/index.js';
import { Network, makeLog } from './harness.js';

/** Writes `count` entries through `leader` and lets the network settle. */
function write(net: Network, leader: string, count: number, prefix = 'w'): void {
  for (let i = 0; i < count; i++) expect(net.propose(leader, `${prefix}${i}`).ok).toBe(true);
  net.stabilize();
}

function messagesTo(net: Network, to: string, from: number): Message[] {
  return net.sent.slice(from).filter((m) => m.to === to);
}

/** The (index, term) of what a host's state machine holds. */
function state(net: Network, id: string): string {
  return net.host(id).applied.map((e) => `${e.index}:${e.term}:${e.data}`).join(' ');
}

describe('a log that starts after a snapshot', () => {
  it('knows the term and lsn at the snapshot index, nothing below, and continues the lsn chain', () => {
    const all = makeLog([1, 1, 2, 2, 2, 3, 3, 3]);
    const log = new RaftLog(all.slice(5), null, { index: 5, term: 2, lsn: all[4]!.lsn });
    expect([log.firstIndex(), log.lastIndex(), log.term(5), log.term(6), log.term(4), log.lsn(5), log.lsn(8)]).toEqual([6, 8, 2, 3, -1, all[4]!.lsn, all[7]!.lsn]);
    expect(log.slice(6, 9)).toEqual(all.slice(5));
    expect(() => log.slice(5, 7)).toThrow(/first 6/);
    expect(() => log.truncateFrom(5)).toThrow();
    // A conflict below the base answers base - 1: only a snapshot can bring the follower further.
    expect(log.lastIndexAtOrBefore(8, 1)).toBe(4);
    expect(log.lastIndexAtOrBefore(8, 2)).toBe(5);
    log.truncateFrom(7);
    const next: Entry = { index: 7, term: 4, lsn: all[5]!.lsn + entryBytes('sql', 'x', undefined), kind: 'sql', data: 'x' };
    log.append(next);
    expect([log.lastIndex(), log.lsn(7)]).toEqual([7, next.lsn]);
    // Compaction moves the base forward; restore with a mismatch empties the log after the snapshot.
    log.takeUnwritten();
    log.markPersisted(7, 4);
    log.compactTo(6);
    expect([log.firstIndex(), log.term(6), log.lsn(6), log.term(5)]).toEqual([7, 3, all[5]!.lsn, -1]);
    log.restore({ index: 20, term: 5, lsn: 5000 }, false);
    expect([log.firstIndex(), log.lastIndex(), log.lastTerm(), log.lsn(20), log.stableIndex]).toEqual([21, 20, 5, 5000, 20]);
    expect(log.takeUnwritten()).toEqual({ writeFrom: 21, entries: [] });
  });

  it('LogPositions (the WAL index) compacts and resets, anchors staying exact', () => {
    const positions = new LogPositions();
    const lsns: number[] = [0];
    for (let i = 1; i <= 200; i++) {
      lsns.push(lsns[i - 1]! + 10 + (i % 7));
      positions.push(1 + (i > 100 ? 1 : 0), lsns[i]!);
    }
    positions.compact(70, lsns[70]!);
    expect([positions.baseIndex, positions.term(70), positions.term(69), positions.term(101), positions.lastLsn]).toEqual([70, 1, -1, 2, lsns[200]]);
    for (const index of [71, 95, 96, 97, 130, 200]) {
      const anchor = positions.anchor(index);
      expect(anchor.index >= 70 && anchor.index < index && index - anchor.index <= 32).toBe(true);
      expect(anchor.lsn).toBe(lsns[anchor.index]);
    }
    expect(() => positions.anchor(70)).toThrow();
    positions.reset(1000, 7, 99_999);
    positions.push(7, 100_050);
    expect([positions.lastIndex, positions.term(1000), positions.term(1001), positions.anchor(1001)]).toEqual([1001, 7, 7, { index: 1000, lsn: 99_999 }]);
    for (let i = 1002; i <= 1100; i++) positions.push(8, 100_000 + i);
    expect(positions.anchor(1100)).toEqual({ index: 1088, lsn: 100_000 + 1088 });
  });
});

describe('InstallSnapshot', () => {
  it('sends a follower behind the compaction point the snapshot, then appends', () => {
    const net = new Network({ size: 3 });
    net.elect('n1');
    net.isolate('n3');
    write(net, 'n1', 30);
    const meta = net.takeSnapshot('n1');
    net.compact('n1', meta.index - 5);
    expect(net.core('n1').status()).toMatchObject({ snapshotIndex: meta.index, firstIndex: meta.index - 4 });
    write(net, 'n1', 3, 'later');
    net.recover();
    const before = net.sent.length;
    // The leader notices the appends it sent while n3 was cut off were lost, probes, and finds n3 behind the log.
    net.tick('n1', 12);
    const toN3 = messagesTo(net, 'n3', before);
    expect(toN3.filter((m) => m.type === 'snapshot')).toHaveLength(1);
    expect(net.events('snapshot-restored', 'n3')).toEqual([{ type: 'snapshot-restored', node: 'n3', index: meta.index, term: meta.term }]);
    // After the snapshot the follower is served from the log, and takes new writes.
    expect(toN3.some((m) => m.type === 'append' && m.entries.length > 0 && m.prevIndex === meta.index)).toBe(true);
    write(net, 'n1', 2, 'after');
    net.tick('n1', 2);
    expect(state(net, 'n3')).toBe(state(net, 'n1'));
    expect(net.core('n3').status()).toMatchObject({ snapshotIndex: meta.index, firstIndex: meta.index + 1, lastIndex: net.core('n1').status().lastIndex });
    expect(net.core('n3').status().lastLsn).toBe(net.core('n1').status().lastLsn);
    expect(net.core('n1').status().progress.find((p) => p.id === 'n3')?.state).toBe('replicate');
  });

  it('keeps the log after the snapshot when it matches there', () => {
    const net = new Network({ size: 3, manualFlush: ['n3'] });
    net.elect('n1');
    net.flush('n3');
    net.tick('n1', 2);
    write(net, 'n1', 10);
    // n3 received everything but flushed none of it, so it applied none of it.
    const appliedBefore = net.core('n3').status().appliedIndex;
    expect(net.core('n3').status().lastIndex).toBe(net.core('n1').status().lastIndex);
    const meta = net.takeSnapshot('n1', net.core('n1').status().commitIndex - 3);
    expect(appliedBefore).toBeLessThan(meta.index);
    const last = net.core('n3').status().lastIndex;
    const suffix = net.core('n3').entries(meta.index + 1, last + 1);
    net.host('n3').incoming = net.host('n1').snapshot;
    net.core('n3').step({ type: 'snapshot', from: 'n1', to: 'n3', term: net.core('n1').status().term, meta });
    net.processAll();
    net.host('n3').incoming = null;
    const status = net.core('n3').status();
    expect(status).toMatchObject({ firstIndex: meta.index + 1, lastIndex: last, snapshotIndex: meta.index });
    expect(status.appliedIndex).toBeGreaterThanOrEqual(meta.index);
    expect(net.core('n3').entries(meta.index + 1, last + 1)).toEqual(suffix);
    expect(net.events('entries-truncated', 'n3')).toEqual([]);
    expect(net.events('entries-rolled-back', 'n3')).toEqual([]);
    // The kept suffix still has to be flushed to be applied.
    net.flush('n3');
    net.tick('n1', 2);
    expect(state(net, 'n3')).toBe(state(net, 'n1'));
  });

  it('drops a log that does not match the snapshot, reporting the applied entries it replaced', () => {
    // n3 applied two entries of term 1 that the leader of term 3 never had.
    const net = new Network({ size: 3, logs: { n1: [1, 2, 2], n2: [1, 2, 2], n3: [1, 1, 1] }, terms: { n1: 2, n2: 2, n3: 2 } });
    net.isolate('n3');
    net.elect('n1');
    write(net, 'n1', 6);
    const meta = net.takeSnapshot('n1');
    net.compact('n1', meta.index);
    net.recover();
    net.tick('n1', 6);
    expect(net.events('snapshot-restored', 'n3')).toHaveLength(1);
    const rolled = net.events('entries-rolled-back', 'n3');
    expect(rolled).toHaveLength(1);
    expect(rolled[0]!.toIndex).toBe(3);
    expect(rolled[0]!.fromIndex).toBeLessThanOrEqual(2);
    expect(state(net, 'n3')).toBe(state(net, 'n1'));
    expect(net.host('n3').log.map((e) => e.term)).toEqual(net.host('n1').log.map((e) => e.term));
  });

  it('sends no appends while a snapshot is in flight, keeps the heartbeats, and retries after a failed transfer', () => {
    const net = new Network({ size: 3, snapshotReports: 'manual' });
    net.elect('n1');
    net.isolate('n3');
    write(net, 'n1', 20);
    const meta = net.takeSnapshot('n1');
    net.compact('n1', meta.index);
    net.recover();
    // The first transfer is lost.
    net.drop = (m) => m.type === 'snapshot';
    const before = net.sent.length;
    net.tick('n1', 12);
    net.drop = null;
    expect(messagesTo(net, 'n3', before).filter((m) => m.type === 'snapshot')).toHaveLength(1);
    expect(net.core('n1').status().progress.find((p) => p.id === 'n3')?.state).toBe('snapshot');
    // Writes and heartbeats go on; n3 gets heartbeats but not one append.
    const inFlight = net.sent.length;
    write(net, 'n1', 5, 'during');
    net.tick('n1', 6);
    const during = messagesTo(net, 'n3', inFlight);
    expect(during.filter((m) => m.type === 'heartbeat').length).toBeGreaterThan(0);
    expect(during.filter((m) => m.type === 'append' || m.type === 'snapshot')).toEqual([]);
    // The host reports the failure: the leader probes and sends the snapshot again.
    const retry = net.sent.length;
    net.reportSnapshot('n1', 'n3', false);
    net.tick('n1', 2);
    expect(messagesTo(net, 'n3', retry).filter((m) => m.type === 'snapshot')).toHaveLength(1);
    expect(net.events('snapshot-restored', 'n3')).toHaveLength(1);
    net.reportSnapshot('n1', 'n3', true);
    net.tick('n1', 3);
    expect(state(net, 'n3')).toBe(state(net, 'n1'));
    expect(net.core('n1').status().progress.find((p) => p.id === 'n3')?.state).toBe('replicate');
  });

  it('restarts from a snapshot and a shorter log, as leader and as follower', () => {
    const net = new Network({ size: 3 });
    net.elect('n1');
    net.isolate('n3');
    write(net, 'n1', 12);
    const meta = net.takeSnapshot('n1');
    net.compact('n1', meta.index);
    write(net, 'n1', 4, 'tail');
    net.recover();
    net.tick('n1', 12);
    expect(net.events('snapshot-restored', 'n3')).toHaveLength(1);
    const lastLsn = net.core('n1').status().lastLsn;
    net.restart('n1');
    expect(net.core('n1').status()).toMatchObject({ snapshotIndex: meta.index, firstIndex: meta.index + 1, commitIndex: meta.index, lastLsn });
    net.restart('n3');
    expect(net.core('n3').status()).toMatchObject({ snapshotIndex: meta.index, firstIndex: meta.index + 1 });
    // n1 may not win at once (its log is as long as the others'); someone leads and all converge.
    net.tick(net.ids, 40);
    const [leader] = net.leaders();
    expect(leader).toBeDefined();
    write(net, leader!, 3, 'again');
    net.tick(net.ids, 4);
    for (const id of net.ids) expect(state(net, id)).toBe(state(net, leader!));
  });

  it('a follower whose state went back to its snapshot (state.db lost) applies its log again without a new write', () => {
    const net = new Network({ size: 3 });
    net.elect('n1');
    write(net, 'n1', 20);
    net.tick('n1', 4); // n2 learns the commit index from heartbeats
    const meta = net.takeSnapshot('n2');
    write(net, 'n1', 5, 'tail');
    const last = net.core('n1').status().lastIndex;
    net.tick(net.ids, 4);
    expect(net.core('n2').status().appliedIndex).toBe(last);
    // n2's state machine is lost and restored from its snapshot; its log (the WAL) still holds every entry.
    net.host('n2').applied.length = meta.index;
    net.restart('n2');
    expect(net.core('n2').status().appliedIndex).toBe(meta.index);
    // No write: only the leader's heartbeats. n2 verifies its log against the leader's and applies it.
    net.tick('n1', 6);
    expect(net.core('n2').status().appliedIndex).toBe(last);
    expect(state(net, 'n2')).toBe(state(net, 'n1'));
    // And the leader's view of n2 does not claim more than n2 holds.
    expect(net.core('n1').status().progress.find((f) => f.id === 'n2')?.applied).toBe(last);
  });
});
