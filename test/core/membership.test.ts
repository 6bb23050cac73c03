// Membership change (thesis §4, contract core14): config entries take effect
// when appended and revert when truncated; learners get the log but never
// vote, campaign or count; one single-server change at a time, and only after
// the leader has committed an entry of its own term; a removed leader steps
// down once its removal commits and hands over at once.

import { describe, expect, it } from 'vitest';
import type { Membership, NodeId } from '../../cluster/core/index.js';
import { Network, type NetworkOptions } from './harness.js';

/** A cluster of `size` led by n1, everything flushed and quiet. */
function cluster(options: NetworkOptions = {}): Network {
  const net = new Network(options);
  net.elect('n1');
  net.stabilize();
  return net;
}

function membership(net: Network, id: NodeId): Membership {
  return net.core(id).status().membership;
}

function data(net: Network, id: NodeId): string[] {
  return net.host(id).log.filter((e) => e.kind === 'sql').map((e) => e.data);
}

/** Adds `id` as a learner through `leader` and lets it catch up. */
function addLearner(net: Network, leader: NodeId, id: NodeId): void {
  net.addNode(id);
  const change = net.confChange(leader, { type: 'add-learner', node: id });
  expect(change).toMatchObject({ ok: true });
  net.stabilize();
  expect(net.ack(leader, change.id)).toMatchObject({ ok: true, index: change.ok ? change.index : -1 });
}

describe('learner, promote, remove the leader', () => {
  it('adds a learner that catches up, promotes it, removes the leader, and writes commit throughout', () => {
    const net = cluster();
    const acked: string[] = [];
    const write = (leader: NodeId, text: string): void => {
      const result = net.propose(leader, text);
      expect(result).toMatchObject({ ok: true });
      net.stabilize();
      expect(net.ack(leader, result.id)).toMatchObject({ ok: true });
      acked.push(text);
    };
    write('n1', 'before');

    // A brand-new node that knows no configuration learns it from the leader's log.
    net.addNode('n4');
    expect(membership(net, 'n4')).toEqual({ voters: [], learners: [] });
    const add = net.confChange('n1', { type: 'add-learner', node: 'n4' });
    expect(add).toMatchObject({ ok: true });
    const during = net.propose('n1', 'while-adding'); // writes go on while the change replicates
    net.stabilize();
    expect(net.ack('n1', add.id)).toMatchObject({ ok: true });
    expect(net.ack('n1', during.id)).toMatchObject({ ok: true });
    acked.push('while-adding');
    expect(membership(net, 'n4')).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
    expect(data(net, 'n4')).toEqual(data(net, 'n1')); // caught up
    write('n1', 'with-learner');

    const promote = net.confChange('n1', { type: 'promote-learner', node: 'n4' });
    expect(promote).toMatchObject({ ok: true });
    net.stabilize();
    expect(net.ack('n1', promote.id)).toMatchObject({ ok: true });
    const changes = net.events('membership-changed', 'n1');
    expect(changes.at(-1)).toMatchObject({ committed: true, majorityBefore: 2, majorityAfter: 3, membership: { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] } });
    expect(changes.filter((e) => !e.committed).map((e) => e.majorityAfter)).toEqual([2, 3]);
    write('n1', 'four-voters');

    // Remove the leader: it keeps leading until the change commits, then hands over.
    const remove = net.confChange('n1', { type: 'remove', node: 'n1' });
    expect(remove).toMatchObject({ ok: true });
    net.stabilize();
    expect(net.ack('n1', remove.id)).toMatchObject({ ok: true });
    expect(net.events('stepped-down', 'n1').at(-1)).toMatchObject({ reason: 'removed' });
    const [leader] = net.leaders();
    expect(leader).toBe('n2'); // the first current voter got timeout-now: no election timeout to wait
    expect(membership(net, leader!)).toEqual({ voters: ['n2', 'n3', 'n4'], learners: [] });
    write(leader!, 'after-removal');

    // Nothing acknowledged is lost, and the removed node never campaigns again.
    for (const id of ['n2', 'n3', 'n4']) expect(data(net, id)).toEqual(acked);
    const term = net.core('n1').status().term;
    net.isolate('n1');
    net.tick('n1', 200);
    expect(net.core('n1').status()).toMatchObject({ role: 'follower', term });
  });
});

describe('voters and majorities', () => {
  it('adding a voter to 3 nodes with one dead stops commits: the majority of 4 is 3', () => {
    const net = cluster();
    net.isolate('n3'); // dead
    net.addNode('n4');
    net.isolate('n4'); // empty and not yet reachable
    const add = net.confChange('n1', { type: 'add-voter', node: 'n4' });
    expect(add).toMatchObject({ ok: true });
    const write = net.propose('n1', 'blocked');
    net.tick(['n1', 'n2'], 5);
    const commit = net.core('n1').status().commitIndex;
    expect(commit).toBeLessThan(add.ok ? add.index : 0); // n1 + n2 = 2 of 4: no majority
    expect(net.ack('n1', write.id)).toBeUndefined();
    expect(net.events('membership-changed', 'n1').at(-1)).toMatchObject({ committed: false, majorityBefore: 2, majorityAfter: 3 });

    // Once n4 is reachable it catches up, and n1, n2, n4 are a majority of 4 without n3.
    net.recover();
    net.isolate('n3');
    net.tick(['n1', 'n2', 'n4'], 5);
    expect(net.ack('n1', add.id)).toMatchObject({ ok: true });
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true });
    expect(membership(net, 'n4').voters).toEqual(['n1', 'n2', 'n3', 'n4']);
  });

  it('refuses a change before the leader has committed an entry of its term, and while another is uncommitted', () => {
    const net = new Network();
    net.drop = (m) => m.type === 'append-resp' || m.type === 'heartbeat-resp'; // the new leader cannot commit its no-op
    net.elect('n1');
    net.stabilize();
    net.addNode('n4');
    expect(net.core('n1').status().commitIndex).toBe(0);
    expect(net.confChange('n1', { type: 'add-learner', node: 'n4' })).toMatchObject({ ok: false, error: 'change-in-progress' });

    net.drop = null;
    net.tick('n1', 3); // heartbeats bring the acks: the no-op commits
    expect(net.core('n1').status().commitIndex).toBe(1);
    const first = net.confChange('n1', { type: 'add-learner', node: 'n4' });
    expect(first).toMatchObject({ ok: true });
    expect(net.confChange('n1', { type: 'promote-learner', node: 'n4' })).toMatchObject({ ok: false, error: 'change-in-progress' });
    net.stabilize();
    expect(net.confChange('n1', { type: 'promote-learner', node: 'n4' })).toMatchObject({ ok: true });
    net.stabilize();
    expect(net.confChange('n2', { type: 'remove', node: 'n3' })).toMatchObject({ ok: false, error: 'not-leader', leader: 'n1' });
  });

  it('refuses changes that make no sense', () => {
    const net = cluster({ size: 1 });
    const refused = (change: Parameters<Network['confChange']>[1]): unknown => net.confChange('n1', change);
    expect(refused({ type: 'remove', node: 'n1' })).toMatchObject({ ok: false, error: 'bad-change' }); // the last voter
    expect(refused({ type: 'add-voter', node: 'n1' })).toMatchObject({ ok: false, error: 'bad-change' });
    expect(refused({ type: 'promote-learner', node: 'n2' })).toMatchObject({ ok: false, error: 'bad-change' });
    expect(refused({ type: 'remove', node: 'n7' })).toMatchObject({ ok: false, error: 'bad-change' });
    expect(refused({ type: 'add-learner', node: '' })).toMatchObject({ ok: false, error: 'bad-change' });
    for (let i = 2; i <= 9; i++) {
      expect(refused({ type: 'add-learner', node: `n${i}` })).toMatchObject({ ok: true }); // one node commits alone
      net.stabilize();
    }
    expect(refused({ type: 'add-learner', node: 'n10' })).toMatchObject({ ok: false, error: 'bad-change' }); // 9 nodes at most
    expect(membership(net, 'n1').learners).toHaveLength(8);
  });

  it('an uncommitted config entry that a new leader truncates reverts to the configuration before it', () => {
    const net = cluster({ size: 5 });
    for (const id of ['n3', 'n4', 'n5']) net.cut('n1', id);
    const add = net.confChange('n1', { type: 'add-learner', node: 'n6' });
    expect(add).toMatchObject({ ok: true });
    net.stabilize();
    const five = ['n1', 'n2', 'n3', 'n4', 'n5'];
    expect(membership(net, 'n2')).toEqual({ voters: five, learners: ['n6'] }); // in effect on n2 at once, uncommitted
    expect(net.core('n1').status().commitIndex).toBeLessThan(add.ok ? add.index : 0);

    net.isolate('n1');
    net.tick(['n3', 'n4', 'n5'], 40);
    const [leader] = net.leaders().filter((id) => id !== 'n1');
    expect(['n3', 'n4', 'n5']).toContain(leader);
    net.tick([leader!, 'n2'], 5);
    expect(net.events('entries-truncated', 'n2').length).toBeGreaterThan(0);
    expect(membership(net, 'n2')).toEqual({ voters: five, learners: [] });
    expect(net.host('n2').log.some((e) => e.kind === 'config')).toBe(false);
  });
});

describe('learners', () => {
  it('never campaign, and their votes, acks and read confirmations never count', () => {
    const net = cluster({ size: 3 });
    addLearner(net, 'n1', 'n4');

    // Commit and quorum acks: n1 with only its learner is 1 voter of 3.
    net.cut('n1', 'n2');
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick(['n1', 'n4'], 5);
    expect(data(net, 'n4')).toContain('w'); // the learner has it...
    expect(net.ack('n1', write.id)).toBeUndefined(); // ...and it does not count
    expect(net.core('n1').status().commitIndex).toBeLessThan(write.ok ? write.index : 0);

    // ReadIndex: the learner's heartbeat answers do not confirm leadership.
    net.core('n1').readIndex(77);
    net.tick(['n1', 'n4'], 3);
    expect(net.host('n1').reads.find((r) => r.id === 77)).toBeUndefined();

    // The learner never campaigns, however long it hears nothing.
    net.isolate('n4');
    const before = net.core('n4').status().term;
    net.tick('n4', 300);
    expect(net.core('n4').status()).toMatchObject({ role: 'follower', term: before });
    expect(net.events('election-started', 'n4')).toEqual([]);

    // A voter with only the learner's vote does not win: n2 and the learner against a majority of 3.
    net.recover();
    net.tick(['n1', 'n2', 'n3', 'n4'], 3); // every log the same again
    net.isolate('n1');
    net.cut('n2', 'n3');
    net.campaign('n2');
    expect(net.core('n2').status().role).toBe('pre-candidate');
    expect(net.sent.filter((m) => m.to === 'n4' && m.type === 'vote')).toEqual([]); // candidates ask voters only
    // Even a granted answer from the learner is no vote.
    const term = net.core('n2').status().term + 1;
    net.core('n2').step({ type: 'vote-resp', from: 'n4', to: 'n2', term, pre: true, granted: true, reason: null });
    net.tick(['n2', 'n4'], 100);
    expect(net.core('n2').status().role).not.toBe('leader');
    expect(net.events('leader-elected', 'n2')).toEqual([]);
  });

  it('do not keep a leader alive under CheckQuorum', () => {
    const net = cluster({ size: 3 });
    addLearner(net, 'n1', 'n4');
    net.cut('n1', 'n2');
    net.cut('n1', 'n3');
    net.tick(['n1', 'n4'], 25); // the learner answers every heartbeat
    expect(net.core('n1').status().role).toBe('follower');
    expect(net.events('stepped-down', 'n1').at(-1)).toMatchObject({ reason: 'check-quorum' });
  });

  it('a sync write waits for the voting followers only, not for a learner', () => {
    const net = cluster({ replication: { mode: 'sync' } });
    addLearner(net, 'n1', 'n4');
    net.isolate('n4');
    const write = net.propose('n1', 'w');
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true });
  });
});

describe('replication settings the new configuration cannot satisfy', () => {
  it('an explicit quorum above the voters shrinks to every voter, and named standbys that left fall back to every voting follower', () => {
    const net = cluster({ size: 3, replication: { mode: 'quorum', quorum: 3 } });
    const remove = net.confChange('n1', { type: 'remove', node: 'n3' });
    net.stabilize();
    expect(net.ack('n1', remove.id)).toMatchObject({ ok: true });
    const write = net.propose('n1', 'w'); // quorum 3 of 2 voters: both must have it
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true });
    net.isolate('n2');
    const blocked = net.propose('n1', 'blocked');
    net.tick('n1', 3);
    expect(net.ack('n1', blocked.id)).toBeUndefined();
    expect(net.core('n1').setReplication({ quorum: 3 })).toMatch(/from 1 to 2 \(the number of voters\)/);

    const sync = cluster({ size: 3, replication: { mode: 'sync', syncStandbys: ['n3'] } });
    sync.confChange('n1', { type: 'remove', node: 'n3' });
    sync.stabilize();
    sync.isolate('n2'); // the only voting follower left: the sync set falls back to it
    const waiting = sync.propose('n1', 'w');
    sync.tick('n1', 3);
    expect(sync.ack('n1', waiting.id)).toBeUndefined();
    sync.recover();
    sync.tick(['n1', 'n2'], 3);
    expect(sync.ack('n1', waiting.id)).toMatchObject({ ok: true });
  });
});
