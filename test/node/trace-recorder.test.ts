// A node's side of `trace`, in-process: the trace control message is the
// supervisor's only, tags are checked and bounded, and the recorder stamps a
// follower's stages once it meets the tagged entry in an append.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, Message } from '../../cluster/core/index.js';
import { NodeHost } from '../../cluster/node/host.js';
import { armedMax, TraceRecorder } from '../../cluster/node/trace.js';
import type { FromNode } from '../../cluster/protocol.js';
import { testHostIo, testNodeConfig } from './helpers.js';

const dirs: string[] = [];
const hosts: NodeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function host(): { host: NodeHost; replies: FromNode[] } {
  const dir = mkdtempSync(join(tmpdir(), 'rl-trace-'));
  dirs.push(dir);
  const replies: FromNode[] = [];
  const h = new NodeHost(
    testNodeConfig(dir, { id: 'n1', electionTimeoutMs: [150, 300], heartbeatMs: 50, preVote: true, checkQuorum: true, seed: 1, secret: 's' }),
    testHostIo({ send: (message) => replies.push(message), pid: 1 }),
  );
  hosts.push(h);
  return { host: h, replies };
}

const tag = (n: number) => `trace-${String(n).padStart(16, '0')}`;
const repliesOf = (out: FromNode[]) => out.flatMap((m) => (m.type === 'batch' ? m.messages : [m])).filter((m) => m.type === 'reply');

describe('the trace control message at a node', () => {
  it('arms, reports and disarms for the supervisor; refuses a bad tag, more than the limit, and any client', () => {
    const { host: h, replies } = host();
    const client: FromNode[] = [];
    h.receive({ type: 'trace', id: 1, action: 'arm', tag: tag(1) });
    h.receive({ type: 'trace', id: 2, action: 'arm', tag: 'client-7' });
    h.receive({ type: 'trace', id: 3, action: 'arm', tag: tag(2) }, 'client', { send: (m) => client.push(m) });
    for (let i = 0; i < armedMax; i++) h.receive({ type: 'trace', id: 10 + i, action: 'arm', tag: tag(10 + i) });
    h.receive({ type: 'trace', id: 20, action: 'report', tag: tag(1) });
    h.receive({ type: 'trace', id: 21, action: 'disarm', tag: tag(1) });
    h.receive({ type: 'trace', id: 22, action: 'report', tag: tag(1) });
    const byId = new Map(repliesOf(replies).map((r) => [(r as { id: number }).id, r as Extract<FromNode, { type: 'reply' }>]));
    expect(byId.get(1)?.ok).toBe(true);
    expect(byId.get(2)?.error?.reason).toBe('refused');
    expect(repliesOf(client)).toEqual([]);
    expect(byId.has(3)).toBe(false);
    // tag(1) and three more fill the four places; the fourth of these is refused.
    expect([10, 11, 12, 13].map((id) => byId.get(id)?.ok)).toEqual([true, true, true, false]);
    expect(byId.get(13)?.error?.reason).toBe('busy');
    expect(byId.get(20)?.result?.['record']).toMatchObject({ node: 'n1', tag: tag(1), role: null, index: null, stamps: {} });
    expect(byId.get(22)?.result?.['record']).toBeNull();
  });
});

describe('TraceRecorder on a follower', () => {
  it('meets the entry by its client id and stamps each stage once, in order', () => {
    const r = new TraceRecorder('n2', 2, true);
    expect(r.armed).toBe(false);
    r.arm(tag(1));
    const entry: Entry = { index: 5, term: 1, lsn: 500, kind: 'sql', data: '{}', client: tag(1) };
    const positions = (received: number, flushed: number, applied: number) => ({ received, flushed, applied });
    const append: Message = { type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 4, prevTerm: 1, entries: [entry], commit: 4 };
    r.raftIn([append]);
    r.beforeWrite([entry]);
    r.afterWrite();
    const resp = (p: ReturnType<typeof positions>): Message => ({ type: 'append-resp', from: 'n2', to: 'n1', term: 1, index: 5, reject: false, hintIndex: 0, hintTerm: 0, positions: p });
    r.raftOut([resp(positions(5, 4, 4))]);
    r.flushStarted(5);
    r.flushed(5);
    r.raftOut([resp(positions(5, 5, 4))]);
    r.beforeApply([entry]);
    r.afterApply();
    r.raftOut([resp(positions(5, 5, 5))]);
    r.raftIn([{ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 5, context: 0 }]);
    r.raftIn([append]);
    const record = r.report(tag(1))!;
    expect(record).toMatchObject({ role: 'follower', index: 5, term: 1, commitVia: 'heartbeat' });
    const order = ['receive', 'wal-write-start', 'wal-write-end', 'ack-sent-received', 'fsync-start', 'fsync-end', 'ack-sent-flushed', 'apply-start', 'apply-end', 'ack-sent-applied', 'commit-learned'] as const;
    const stamps = order.map((name) => record.stamps[name]);
    expect(stamps.every((s) => typeof s === 'number')).toBe(true);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThanOrEqual(stamps[i - 1]!);
    expect(record.stamps['fsync-queued']).toBeUndefined();
    r.disarm(tag(1));
    expect(r.armed).toBe(false);
  });
});
