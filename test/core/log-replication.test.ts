// Log replication and safety (Raft §5.3, §5.4): the consistency check, fast
// backtracking, figure 7, figure 8, Log Matching and Leader Completeness.

import { describe, expect, it } from 'vitest';
import { limits, type Message } from '../../cluster/core/index.js';
import { makeLog, Network, shape } from './harness.js';

type Append = Extract<Message, { type: 'append' }>;

function append(fields: Pick<Append, 'term' | 'prevIndex' | 'prevTerm' | 'entries' | 'commit'>): Append {
  return { type: 'append', from: 'n1', to: 'n2', ...fields };
}

/** Log Matching: two logs holding an entry with the same index and term are identical up to it. */
function expectLogMatching(net: Network): void {
  for (const a of net.ids) {
    for (const b of net.ids) {
      const logA = net.host(a).log;
      const logB = net.host(b).log;
      for (let i = Math.min(logA.length, logB.length); i >= 1; i--) {
        if (logA[i - 1]?.term !== logB[i - 1]?.term) continue;
        expect(logA.slice(0, i), `${a} and ${b} agree up to ${i}`).toEqual(logB.slice(0, i));
        break;
      }
    }
  }
}

function appendsTo(net: Network, to: string): number {
  return net.sent.filter((m) => m.type === 'append' && m.to === to).length;
}

describe('log replication', () => {
  it("if a follower's log is inconsistent with the leader's, the AppendEntries consistency check fails", () => {
    const net = new Network({ logs: { n2: [1, 1, 2] }, terms: { n2: 2 } });
    const n2 = net.core('n2');
    const entries = makeLog([1, 1, 3, 3]).slice(3);
    n2.step(append({ term: 3, prevIndex: 3, prevTerm: 3, entries, commit: 0 }));
    n2.step(append({ term: 3, prevIndex: 6, prevTerm: 3, entries: [], commit: 0 }));
    net.process('n2');
    const answers = net.pending().filter((m) => m.type === 'append-resp');
    // The hint names the follower's last entry at or before prevIndex with a term <= prevTerm.
    expect(answers.map((m) => m.type === 'append-resp' && [m.reject, m.index, m.hintIndex, m.hintTerm])).toEqual([
      [true, 3, 3, 2],
      [true, 6, 3, 2],
    ]);
    expect(shape(net.host('n2').log)).toBe('1:1 2:1 3:2');
  });

  it('a follower that matches prevIndex/prevTerm appends, deleting a conflicting entry and all that follow it', () => {
    const net = new Network({ logs: { n2: [1, 1, 2, 2] }, terms: { n2: 2 } });
    const n2 = net.core('n2');
    const leaderLog = makeLog([1, 1, 3]);
    n2.step(append({ term: 3, prevIndex: 2, prevTerm: 1, entries: leaderLog.slice(2), commit: 2 }));
    net.process('n2');
    expect(shape(net.host('n2').log)).toBe('1:1 2:1 3:3');
    expect(net.events('entries-truncated', 'n2')).toEqual([{ type: 'entries-truncated', node: 'n2', fromIndex: 3, count: 2 }]);
    expect(net.pending()[0]).toMatchObject({ type: 'append-resp', reject: false, index: 3 });
  });

  it('fast backtracking: a follower with many conflicting entries is repaired in a handful of round trips', () => {
    const conflicting = 200;
    const net = new Network({
      logs: {
        n1: [1, ...Array<number>(50).fill(3)],
        n2: [1, ...Array<number>(50).fill(3)],
        n3: [1, ...Array<number>(conflicting).fill(2)],
      },
      terms: { n1: 3, n2: 3, n3: 3 },
    });
    net.elect('n1');
    expect(shape(net.host('n3').log)).toBe(shape(net.host('n1').log));
    expect(net.host('n3').log).toHaveLength(52);
    // One rejected probe, one probe that lands with every missing entry.
    expect(appendsTo(net, 'n3')).toBeLessThanOrEqual(3);
    expect(appendsTo(net, 'n3')).toBeLessThan(conflicting / 20);
  });

  it('the leader forces the followers to duplicate its own log (figure 7)', () => {
    const figure7 = {
      n1: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], // the leader for term 8
      n2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing entries
      n3: [1, 1, 1, 4], // (b)
      n4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) an extra uncommitted entry
      n5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      n6: [1, 1, 1, 4, 4, 4, 4], // (e) missing and extra
      n7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) a leader of terms 2 and 3 that never committed
    };
    const terms = Object.fromEntries(Object.keys(figure7).map((id) => [id, 7]));
    const net = new Network({ size: 7, logs: figure7, terms });
    net.elect('n1');
    net.tick('n1', 2); // the next heartbeat carries the commit index
    expect(net.core('n1').status().term).toBe(8);
    const leaderLog = shape(net.host('n1').log);
    expect(leaderLog).toBe('1:1 2:1 3:1 4:4 5:4 6:5 7:5 8:6 9:6 10:6 11:8');
    for (const id of net.ids) expect(shape(net.host(id).log), id).toBe(leaderLog);
    for (const id of net.ids) expect(net.core(id).status().commitIndex, id).toBe(11);
    // (f) applied entries of terms 2 and 3 that the leader does not hold: they are rolled back.
    expect(net.events('entries-rolled-back', 'n7')).toEqual([
      { type: 'entries-rolled-back', node: 'n7', fromIndex: 4, toIndex: 11, leader: 'n1' },
    ]);
    for (const id of net.ids) expect(appendsTo(net, id), id).toBeLessThanOrEqual(3);
  });

  it('a leader only commits entries from its current term by counting replicas (figure 8)', () => {
    function figure8(unsafe: boolean) {
      // (c): n1 leads term 4 with index 2 (term 2) which n5 never saw; n5 holds index 2 of term 3.
      const net = new Network({
        size: 5,
        logs: { n1: [1, 2], n2: [1], n3: [1], n4: [1], n5: [1, 3] },
        terms: { n1: 3, n2: 3, n3: 3, n4: 3, n5: 3 },
        manualFlush: ['n2', 'n3'],
        config: unsafe ? { unsafe: { commitPreviousTermByCount: true } } : {},
      });
      net.cut('n1', 'n4');
      net.cut('n1', 'n5');
      net.elect('n1');
      expect(shape(net.host('n2').log)).toBe('1:1 2:2 3:4');
      // Index 2 becomes durable on n1, n2, n3 -- a majority -- while the term-4 entry is not.
      net.core('n2').persisted(2, 2);
      net.core('n3').persisted(2, 2);
      net.stabilize();
      return net;
    }
    const net = figure8(false);
    expect(net.core('n1').status().progress.filter((p) => p.flushed === 2).map((p) => p.id)).toEqual(['n2', 'n3']);
    expect(net.core('n1').status().commitIndex).toBe(0);
    // Once the entry of the current term is on a majority, it commits, and index 2 with it.
    net.flush('n2');
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(0); // n1 and n2 only: not yet a majority
    net.flush('n3');
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(3);
    // The rule is what makes the difference: counting replicas alone would have committed index 2.
    expect(figure8(true).core('n1').status().commitIndex).toBe(2);
  });

  it('a follower that missed a whole term is repaired when the same leader is re-elected', () => {
    const net = new Network({ size: 5, config: { checkQuorum: false } });
    net.elect('n1'); // term 1
    for (const id of ['n2', 'n3', 'n4']) net.cut('n1', id);
    expect(net.propose('n1', 'only-on-n1-and-n5')).toMatchObject({ ok: true, index: 2 });
    net.stabilize();
    expect(shape(net.host('n5').log)).toBe('1:1 2:1');
    net.recover();
    net.isolate('n5');
    net.isolate('n1');
    net.elect('n2'); // term 2: index 2 becomes n2's no-op
    net.recover();
    net.isolate('n5');
    net.tick('n2', 2); // a heartbeat brings n1 into term 2; it drops its uncommitted write
    expect(shape(net.host('n1').log)).toBe('1:1 2:2');
    net.elect('n1'); // term 3, while n5 still believes in n1's term 1
    net.recover();
    net.tick('n1', 4);
    // n5 matched index 2 against n1 in term 1; in term 3 that index holds another entry.
    expect(shape(net.host('n5').log)).toBe('1:1 2:2 3:3');
    expect(net.host('n5').rolledBack.map((e) => e.data)).toEqual(['only-on-n1-and-n5']);
    expect(net.ids.map((id) => net.core(id).status().commitIndex)).toEqual([3, 3, 3, 3, 3]);
    expectLogMatching(net);
  });
});

describe('restarts', () => {
  it('a follower that crashes before flushing is sent again what it lost', () => {
    const net = new Network({ replication: { mode: 'sync' }, manualFlush: ['n3'] });
    net.elect('n1');
    net.flush('n3');
    net.stabilize();
    const write = net.propose('n1', 'w');
    net.stabilize();
    expect(net.core('n1').status().progress.find((p) => p.id === 'n3')).toMatchObject({ received: 2, flushed: 1 });
    net.restart('n3'); // 'w' was only in n3's memory
    expect(shape(net.host('n3').log)).toBe('1:1');
    net.tick('n1', 2);
    expect(shape(net.host('n3').log)).toBe('1:1 2:1');
    expect(net.ack('n1', write.id)).toBeUndefined(); // sync waits for n3's flush
    net.flush('n3');
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
  });

  it('a restarted node keeps its durable log and term and follows the leader again', () => {
    const net = new Network();
    net.elect('n1');
    net.propose('n1', 'a');
    net.stabilize();
    net.restart('n2');
    expect(net.core('n2').status()).toMatchObject({ role: 'follower', term: 1, leader: null, lastIndex: 2, appliedIndex: 2 });
    net.propose('n1', 'b');
    net.tick('n1', 2);
    expect(net.core('n2').status()).toMatchObject({ leader: 'n1', lastIndex: 3, appliedIndex: 3 });
    expect(net.host('n2').applied.map((e) => e.data)).toEqual(['', 'a', 'b']);
  });
});

describe('pipelining and batching', () => {
  it('writes proposed between two readies travel in one append', () => {
    const net = new Network();
    net.elect('n1');
    const before = net.sent.length;
    for (let i = 0; i < 10; i++) net.propose('n1', `w${i}`);
    net.process('n1');
    const appends = net.sent.slice(before).filter((m): m is Append => m.type === 'append');
    expect(appends.map((m) => [m.to, m.prevIndex, m.entries.length])).toEqual([
      ['n2', 1, 10],
      ['n3', 1, 10],
    ]);
  });

  it('a leader keeps at most a bounded window of appends in flight to a follower that does not answer', () => {
    const net = new Network();
    net.elect('n1');
    net.drop = (m) => m.from === 'n2';
    const before = appendsTo(net, 'n2');
    for (let i = 0; i < 100; i++) {
      net.propose('n1', `w${i}`);
      net.stabilize();
    }
    expect(appendsTo(net, 'n2') - before).toBe(limits.inflightMessagesMax);
    expect(net.core('n1').status().progress.find((p) => p.id === 'n2')).toMatchObject({ inflight: 64, received: 1 });
    expect(net.host('n2').log).toHaveLength(1 + limits.inflightMessagesMax); // it did receive them
    net.recover();
    net.tick('n1', 2);
    expect(net.host('n2').log).toHaveLength(101);
  });
});

describe('safety', () => {
  it('Log Matching: logs that share an entry with the same index and term are identical up to it', () => {
    const net = new Network({ size: 5 });
    net.elect('n1');
    net.propose('n1', 'a');
    net.stabilize();
    net.partition(['n1', 'n2'], ['n3', 'n4', 'n5']);
    net.propose('n1', 'b-uncommitted');
    net.propose('n1', 'c-uncommitted');
    net.stabilize();
    net.tick(['n3', 'n4', 'n5'], 40);
    const [leader = 'none'] = net.leaders().filter((id) => id !== 'n1');
    expect(['n3', 'n4', 'n5']).toContain(leader);
    net.propose(leader, 'd');
    net.stabilize();
    expectLogMatching(net); // while n1 and n2 still hold the uncommitted entries
    expect(shape(net.host('n2').log)).toBe('1:1 2:1 3:1 4:1');
    net.recover();
    net.tick(net.ids, 20);
    expectLogMatching(net);
    for (const id of net.ids) expect(shape(net.host(id).log), id).toBe(shape(net.host(leader).log));
  });

  it('Leader Completeness: a committed entry is present in the log of every later leader', () => {
    const net = new Network({ size: 5, config: { checkQuorum: false } });
    net.elect('n1');
    net.cut('n1', 'n4');
    net.cut('n1', 'n5');
    expect(net.propose('n1', 'committed')).toMatchObject({ ok: true, index: 2 });
    net.stabilize();
    expect(net.core('n1').status().commitIndex).toBe(2);
    net.recover();
    net.isolate('n1');
    // n4 lacks the committed entry: the nodes that hold it refuse to elect it.
    net.campaign('n4');
    expect(net.core('n4').status().role).not.toBe('leader');
    expect(net.events('vote-denied').filter((e) => e.candidate === 'n4').map((e) => [e.node, e.reason])).toEqual([
      ['n2', 'log-behind'],
      ['n3', 'log-behind'],
    ]);
    net.elect('n3');
    expect(net.host('n3').log.map((e) => e.data)).toContain('committed');
    net.tick('n3', 2);
    for (const id of ['n2', 'n3', 'n4', 'n5']) expect(net.host(id).applied.map((e) => e.data), id).toContain('committed');
  });
});
