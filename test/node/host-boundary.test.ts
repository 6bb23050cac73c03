// What only the receiver's log can tell about a peer's message, checked by the
// host before the core sees it (peerMessageProblem): the first appended
// entry's lsn against this log at prevIndex, and a follower's answer naming
// indexes past this leader's log. A message that fails is dropped and
// counted by the host; here the check on its own, against a real core.

import { describe, expect, it } from 'vitest';
import { entryBytes, RaftCore, type CoreConfig, type Entry, type Message } from '../../cluster/core/index.js';
import { environmentProblem, peerMessageProblem } from '../../cluster/node/host.js';
import { EnvironmentError } from '../../cluster/store/index.js';
import { WalError } from '../../cluster/wal/index.js';

const config = (failover: 'raft' | 'manual'): CoreConfig => ({
  id: 'n2',
  peers: ['n1', 'n2', 'n3'],
  electionTicks: [10, 20],
  heartbeatTicks: 2,
  failover,
  fencing: true,
  preVote: true,
  checkQuorum: true,
  seed: 1,
  replication: { mode: 'quorum', ackLevel: 'flushed', quorum: null, syncStandbys: null, syncTimeoutTicks: null, syncFallback: 'block' },
});

function log(): Entry[] {
  const first: Entry = { index: 1, term: 1, lsn: entryBytes('noop', '', undefined), kind: 'noop', data: '' };
  const data = '{"sql":"DELETE FROM kv","params":[]}';
  return [first, { index: 2, term: 2, lsn: first.lsn + entryBytes('sql', data, 'c1'), kind: 'sql', data, client: 'c1' }];
}

function core(failover: 'raft' | 'manual' = 'raft'): RaftCore {
  return new RaftCore(config(failover), { hardState: { term: 2, vote: null }, snapshot: null, entries: log(), appliedIndex: 0 });
}

const noop = (index: number, term: number, lsn: number): Entry => ({ index, term, lsn, kind: 'noop', data: '' });
const append = (prevIndex: number, prevTerm: number, entries: Entry[]): Message => ({ type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex, prevTerm, entries, commit: 0 });

describe('peerMessageProblem', () => {
  it("refuses an append whose first entry's lsn disagrees with this log at prevIndex, and takes the right one", () => {
    const c = core();
    const lsn2 = log()[1]!.lsn;
    expect(peerMessageProblem(append(2, 2, [noop(3, 2, lsn2 + 37)]), c)).toBe(`append entry 3 has lsn ${lsn2 + 37}, but this log's lsn at 2 makes it ${lsn2 + 36}`);
    expect(peerMessageProblem(append(2, 2, [noop(3, 2, lsn2 + 36)]), c)).toBeNull();
    // Overwriting from index 2 on: checked against the lsn at index 1.
    expect(peerMessageProblem(append(1, 1, [noop(2, 2, 36 + 37)]), c)).toContain('this log\'s lsn at 1 makes it 72');
  });

  it('leaves an append this log does not match at prevIndex to the core, which rejects it without appending', () => {
    const c = core();
    expect(peerMessageProblem(append(2, 1, [noop(3, 2, 1)]), c)).toBeNull();
    expect(peerMessageProblem(append(9, 2, [noop(10, 2, 1)]), c)).toBeNull();
  });

  it("refuses a follower's answer, in this leader's term, that names an index past this leader's log", () => {
    const c = core('manual');
    c.promote();
    expect(c.getRole()).toBe('leader');
    const term = c.getTerm();
    const last = c.getLastIndex();
    const positions = (n: number) => ({ received: n, flushed: n, applied: n });
    const resp = (index: number, at = term): Message => ({ type: 'append-resp', from: 'n1', to: 'n2', term: at, index, reject: false, hintIndex: 0, hintTerm: 0, positions: positions(Math.min(index, last)) });
    expect(peerMessageProblem(resp(last), c)).toBeNull();
    expect(peerMessageProblem(resp(last + 1), c)).toBe(`append-resp names index ${last + 1}, past this leader's last index ${last}`);
    expect(peerMessageProblem({ type: 'heartbeat-resp', from: 'n3', to: 'n2', term, context: 0, positions: positions(last + 5) }, c)).toContain('past this leader');
    // Another term's answers are the core's business (it ignores or steps down on them).
    expect(peerMessageProblem(resp(last + 1, term + 1), c)).toBeNull();
  });
});

describe('environmentProblem', () => {
  it('takes errors of the disk, the WAL and state.db for the environment, and anything else for a bug', () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 });
    expect(environmentProblem(full)).toBe('a file operation failed with ENOSPC (the disk is full) in write: ENOSPC: no space left on device, write');
    const io = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' });
    expect(environmentProblem(io)).toMatch(/^a file operation failed with EIO in fdatasync/);
    expect(environmentProblem(new WalError('failed', 'an earlier WAL write or fsync failed'))).toBe('the WAL failed: an earlier WAL write or fsync failed');
    expect(environmentProblem(new EnvironmentError(4, 4, 'SQLITE_FULL', new Error('database or disk is full')))).toMatch(/^state\.db failed applying entry 4 with SQLITE_FULL/);
    // Bugs still crash the node: an assertion, a WAL error of bad input, an errno-like error without a system call.
    expect(environmentProblem(new Error('assertion failed: x'))).toBeNull();
    expect(environmentProblem(new WalError('record-too-large', 'too big'))).toBeNull();
    expect(environmentProblem(Object.assign(new Error('odd'), { code: 'ENOSPC' }))).toBeNull();
  });
});
