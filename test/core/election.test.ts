// Leader election (Raft §5.2, §5.4.1), PreVote and CheckQuorum (Raft thesis §9.6, etcd).

import { describe, expect, it } from 'vitest';
import { limits, type Message } from '../../cluster/core/index.js';
import { Network } from './harness.js';

type VoteMessage = Extract<Message, { type: 'vote' }>;

function vote(from: string, to: string, term: number, lastIndex: number, lastTerm: number): VoteMessage {
  return { type: 'vote', from, to, term, pre: false, lastIndex, lastTerm, transfer: false };
}

describe('leader election', () => {
  it('a follower that hears nothing for an election timeout becomes a candidate', () => {
    const net = new Network({ config: { preVote: false } });
    const n1 = net.core('n1');
    for (let i = 0; i < 9; i++) n1.tick();
    expect(n1.status().role).toBe('follower'); // below the minimum of [10, 20]
    for (let i = 0; i < 11 && n1.status().role === 'follower'; i++) n1.tick();
    expect(n1.status()).toMatchObject({ role: 'candidate', term: 1, vote: 'n1' });
    net.process('n1');
    const votes = net.pending().filter((m) => m.type === 'vote');
    expect(votes.map((m) => [m.to, m.term])).toEqual([
      ['n2', 1],
      ['n3', 1],
    ]);
    expect(net.host('n1').hardState).toEqual({ term: 1, vote: 'n1' });
  });

  it('with PreVote a follower first becomes a pre-candidate and keeps its term', () => {
    const net = new Network();
    const n1 = net.core('n1');
    for (let i = 0; i < 20 && n1.status().role === 'follower'; i++) n1.tick();
    expect(n1.status()).toMatchObject({ role: 'pre-candidate', term: 0 });
    net.process('n1');
    expect(net.pending().map((m) => m.type === 'vote' && m.pre && m.term)).toEqual([1, 1]);
  });

  it('each server will vote for at most one candidate in a given term', () => {
    const net = new Network();
    const n3 = net.core('n3');
    n3.step(vote('n1', 'n3', 1, 0, 0));
    n3.step(vote('n2', 'n3', 1, 0, 0));
    n3.step(vote('n1', 'n3', 1, 0, 0)); // a retry from the same candidate is granted again
    net.process('n3');
    const answers = net.pending().map((m) => m.type === 'vote-resp' && [m.to, m.granted, m.reason]);
    expect(answers).toEqual([
      ['n1', true, null],
      ['n2', false, 'already-voted'],
      ['n1', true, null],
    ]);
    expect(net.host('n3').hardState).toEqual({ term: 1, vote: 'n1' });
  });

  it('a server remembers its vote across a restart (term and vote are persisted before it answers)', () => {
    const net = new Network();
    net.core('n3').step(vote('n1', 'n3', 1, 0, 0));
    net.process('n3');
    const answer = net.host('n3').readies[0];
    expect(answer?.hardState).toEqual({ term: 1, vote: 'n1' }); // in the same Ready as the grant, written first
    expect(answer?.messages).toMatchObject([{ type: 'vote-resp', granted: true }]);
    net.restart('n3');
    net.core('n3').step(vote('n2', 'n3', 1, 0, 0));
    net.process('n3');
    expect(net.events('vote-denied', 'n3').map((e) => [e.candidate, e.reason])).toEqual([['n2', 'already-voted']]);
    expect(net.core('n3').status()).toMatchObject({ term: 1, vote: 'n1' });
  });

  it('a candidate wins an election if it receives votes from a majority', () => {
    const net = new Network({ size: 5 });
    net.isolate('n4');
    net.isolate('n5');
    net.elect('n1');
    const elected = net.events('leader-elected');
    expect(elected).toHaveLength(1);
    expect(elected[0]).toMatchObject({ node: 'n1', term: 1 });
    expect([...(elected[0]?.votes ?? [])].sort()).toEqual(['n1', 'n2', 'n3']);
    expect(net.core('n2').status()).toMatchObject({ role: 'follower', leader: 'n1', term: 1 });
  });

  it('a candidate without a majority does not win', () => {
    const net = new Network({ size: 5, config: { preVote: false } });
    for (const id of ['n3', 'n4', 'n5']) net.isolate(id);
    net.campaign('n1');
    expect(net.core('n1').status()).toMatchObject({ role: 'candidate', term: 1 });
    expect(net.leaders()).toEqual([]);
  });

  it('if the logs have last entries with different terms, then the log with the later term is more up-to-date', () => {
    const net = new Network({ logs: { n1: [1, 1, 1], n2: [1, 2], n3: [] }, terms: { n1: 2, n2: 2, n3: 2 } });
    net.campaign('n1');
    const denied = net.events('vote-denied', 'n2');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((e) => e.candidate === 'n1' && e.reason === 'log-behind')).toBe(true);
    // n3's empty log is behind n1's, so n1 still wins with n3's vote.
    expect(net.leaders()).toEqual(['n1']);
  });

  it('if the logs end with the same term, then whichever log is longer is more up-to-date', () => {
    const net = new Network({ logs: { n1: [1, 1], n2: [1, 1, 1], n3: [1, 1, 1] } });
    net.campaign('n1');
    expect(net.events('vote-denied').map((e) => [e.node, e.reason])).toEqual([
      ['n2', 'log-behind'],
      ['n3', 'log-behind'],
    ]);
    expect(net.leaders()).toEqual([]);
    net.elect('n2');
  });

  it('a vote request from an older term is denied with the newer term', () => {
    const net = new Network({ terms: { n2: 5 } });
    net.core('n2').step(vote('n1', 'n2', 3, 0, 0));
    net.process('n2');
    expect(net.pending()).toEqual([
      { type: 'vote-resp', from: 'n2', to: 'n1', term: 5, pre: false, granted: false, reason: 'stale-term' },
    ]);
  });

  it('when a leader first comes to power it appends a no-op entry of its term, which commits everything before it', () => {
    const net = new Network({ logs: { n1: [1, 1], n2: [1, 1], n3: [1] }, terms: { n1: 3, n2: 3, n3: 3 } });
    net.elect('n1');
    const status = net.core('n1').status();
    expect(status.term).toBe(4);
    const last = net.core('n1').entries(3, 4)[0];
    expect(last).toMatchObject({ index: 3, term: 4, kind: 'noop', data: '' });
    expect(status.commitIndex).toBe(3);
    for (const id of ['n2', 'n3']) expect(net.host(id).log.map((e) => e.kind)).toEqual(['sql', 'sql', 'noop']);
  });
});

describe('PreVote', () => {
  function partitionAndRejoin(preVote: boolean): Network {
    const net = new Network({ config: { preVote } });
    net.elect('n1');
    net.isolate('n3');
    net.tick(net.ids, 100); // n3 keeps timing out on its own
    net.recover();
    net.tick(net.ids, 30);
    return net;
  }

  it('a partitioned node that rejoins does not increase the cluster term or disrupt the leader', () => {
    const net = partitionAndRejoin(true);
    expect(net.events('stepped-down')).toEqual([]);
    expect(net.leaders()).toEqual(['n1']);
    expect(net.ids.map((id) => net.core(id).status().term)).toEqual([1, 1, 1]);
    expect(net.core('n3').status()).toMatchObject({ role: 'follower', leader: 'n1' });
    // It did try: its pre-votes went unanswered while it was cut off.
    expect(net.events('election-started', 'n3').every((e) => e.pre)).toBe(true);
    expect(net.events('election-started', 'n3').length).toBeGreaterThan(3);
  });

  it('without PreVote the same partition makes the leader step down on the rejoining term', () => {
    const net = partitionAndRejoin(false);
    expect(net.events('stepped-down', 'n1').map((e) => e.reason)).toEqual(['higher-term']);
    expect(net.core('n1').status().term).toBeGreaterThan(1);
  });
});

describe('CheckQuorum', () => {
  it('a leader that cannot hear from a majority steps down', () => {
    const net = new Network();
    net.elect('n1');
    const write = net.propose('n1', 'w');
    net.isolate('n1');
    let ticks = 0;
    while (net.events('stepped-down', 'n1').length === 0 && ticks < 100) {
      net.tick('n1');
      ticks++;
    }
    // The check runs every election timeout (10 ticks); the first round may still count old answers.
    expect(ticks).toBeLessThanOrEqual(20);
    expect(net.events('stepped-down', 'n1')).toEqual([{ type: 'stepped-down', node: 'n1', term: 1, reason: 'check-quorum' }]);
    expect(net.core('n1').status()).toMatchObject({ role: 'follower', leader: null });
    expect(net.ack('n1', write.id)).toMatchObject({ ok: false, error: 'leadership-lost', indeterminate: true });
  });

  it('without CheckQuorum an isolated leader keeps believing it leads', () => {
    const net = new Network({ config: { checkQuorum: false } });
    net.elect('n1');
    net.isolate('n1');
    net.tick('n1', 40);
    expect(net.events('stepped-down')).toEqual([]);
    expect(net.core('n1').status().role).toBe('leader');
  });

  it('a follower that heard from its leader within the election timeout refuses to vote (leader lease)', () => {
    const net = new Network({ config: { preVote: false } });
    net.elect('n1');
    net.cut('n1', 'n2');
    net.campaign('n2'); // n2 stops hearing n1, but n3 still does
    expect(net.events('vote-denied', 'n3').map((e) => e.reason)).toEqual(['leader-alive']);
    expect(net.leaders()).toEqual(['n1']);
  });
});

describe('the term limit (termMax)', () => {
  it('a core at termMax does not campaign, and says why once; one below it still elects a leader at termMax', () => {
    const max = limits.termMax;
    const stuck = new Network({ terms: { n1: max, n2: max, n3: max } });
    for (const id of stuck.ids) stuck.campaign(id);
    stuck.tick(stuck.ids, 60);
    expect(stuck.sent.filter((m) => m.type === 'vote')).toEqual([]);
    for (const id of stuck.ids) {
      expect(stuck.core(id).status()).toMatchObject({ role: 'follower', term: max });
      expect(stuck.events('campaign-refused', id)).toEqual([{ type: 'campaign-refused', node: id, term: max, reason: 'term-limit', termMax: max }]);
    }
    for (const failover of ['raft', 'manual'] as const) {
      const manual = new Network({ terms: { n1: max, n2: max, n3: max }, config: { failover } });
      manual.core('n1').promote();
      manual.processAll();
      expect(manual.core('n1').status()).toMatchObject({ role: 'follower', term: max });
    }
    const last = new Network({ terms: { n1: max - 1, n2: max - 1, n3: max - 1 } });
    last.elect('n1');
    expect(last.core('n1').status()).toMatchObject({ role: 'leader', term: max });
    // Every message it sends carries a term its peers accept.
    expect(Math.max(...last.sent.map((m) => m.term))).toBe(max);
  });
});
