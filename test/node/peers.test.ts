// A node's link layer in-process, against a fake peer: the outbox to a peer
// that accepts but never reads stops at its bound and drops (counted), rules
// cut and shape egress and cut ingress, and a peer may only speak for itself.

import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Prng, type Message } from '../../cluster/core/index.js';
import { encodeRaftFrame, outboxBytesMax, Peers, socketPath } from '../../cluster/node/peers.js';
import type { LinkRule } from '../../cluster/protocol.js';
import { encodeFrame, FrameDecoder } from '../../cluster/wire/frames.js';

const secret = 'a-secret-of-enough-characters';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function setup(onRaft: (messages: Message[]) => void = () => {}, onSnapshotFrame: (from: string, frame: unknown) => void = () => {}): { dir: string; peers: Peers; malformed: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'rl-peers-'));
  const malformed: string[] = [];
  const peers = new Peers({
    id: 'n1',
    peers: ['n1', 'n2'],
    socketDir: dir,
    secret,
    prng: new Prng(1),
    onRaft,
    onSnapshotFrame,
    onClientFrame: () => {},
    onMalformed: (reason) => malformed.push(reason),
    onRefused: () => {},
  });
  cleanups.push(() => {
    peers.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, peers, malformed };
}

/** A fake n2 that accepts connections and, unless told to, never reads them. */
function fakePeer(dir: string, read: boolean): Promise<{ server: Server; frames: unknown[] }> {
  const frames: unknown[] = [];
  const server = createServer((socket: Socket) => {
    if (!read) {
      socket.pause();
      return;
    }
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  });
  cleanups.push(() => server.close());
  return new Promise((resolve) => server.listen(socketPath(dir, 'n2'), () => resolve({ server, frames })));
}

const heartbeat = (i: number): Message => ({ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: i, context: 0 });
const rule = (change: Partial<LinkRule>): LinkRule => ({ from: 'n1', to: 'n2', cut: false, delayMs: 0, jitterMs: 0, loss: 0, duplicate: 0, ...change });

describe('Peers', () => {
  it('drops, and counts, what a peer that never reads cannot take, once its outbox is full', async () => {
    const { dir, peers } = setup();
    await fakePeer(dir, false);
    await peers.listen();
    await sleep(100);
    // 64 KiB frames, far more than the outbox holds: 64 MiB offered.
    const big = Array.from({ length: 100 }, (_, i) => ({ ...heartbeat(i), pad: 'x'.repeat(640) }) as unknown as Message);
    for (let turn = 0; turn < 1_000; turn++) {
      peers.send(big);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const rssBefore = process.memoryUsage.rss();
    for (let turn = 0; turn < 300; turn++) {
      peers.send(big);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = peers.telemetry();
    expect(stats.dropped, JSON.stringify(stats)).toBeGreaterThan(0);
    expect(stats.delivered * 700, 'no more than the outbox and the kernel buffer were taken').toBeLessThan(outboxBytesMax + 16 * 1024 * 1024);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(32 * 1024 * 1024);
  });

  it('applies cuts, loss and duplication to egress, in order otherwise', async () => {
    const { dir, peers } = setup();
    const { frames } = await fakePeer(dir, true);
    await peers.listen();
    peers.send([heartbeat(1), heartbeat(2)]);
    peers.setRules([rule({ cut: true })]);
    peers.send([heartbeat(3)]);
    peers.setRules([rule({ duplicate: 1 })]);
    peers.send([heartbeat(4)]);
    peers.setRules([rule({ loss: 1 })]);
    peers.send([heartbeat(5)]);
    peers.setRules([]);
    peers.send([heartbeat(6)]);
    await sleep(200);
    const sent = frames.slice(1).flatMap((frame) => (frame as { messages: Message[] }).messages.map((m) => (m as { commit: number }).commit));
    expect(frames[0]).toEqual({ type: 'hello', secret, from: 'n1' });
    expect(sent).toEqual([1, 2, 4, 4, 6]);
    expect(peers.telemetry()).toMatchObject({ delivered: 5, dropped: 2 });
  });

  it('takes raft messages only from the peer that said hello, to itself, and not across an ingress cut', async () => {
    const received: Message[] = [];
    const { dir, peers, malformed } = setup((messages) => received.push(...messages));
    await peers.listen();
    const socket = await new Promise<Socket>((resolve) => {
      const s = createConnection(socketPath(dir, 'n1'), () => resolve(s));
    });
    cleanups.push(() => socket.destroy());
    const toN1 = (from: string, commit: number): unknown => ({ type: 'heartbeat', from, to: 'n1', term: 1, commit, context: 0 });
    socket.write(encodeFrame({ type: 'hello', secret, from: 'n2' }));
    socket.write(encodeFrame({ type: 'raft', messages: [toN1('n2', 1), toN1('n3', 2), { ...(toN1('n2', 3) as object), to: 'n5' }, { type: 'heartbeat', from: 'n2' }] }));
    await sleep(100);
    peers.setRules([rule({ from: 'n2', to: 'n1', cut: true })]);
    socket.write(encodeFrame({ type: 'raft', messages: [toN1('n2', 4)] }));
    await sleep(100);
    expect(received.map((m) => (m as { commit: number }).commit)).toEqual([1]);
    expect(malformed).toHaveLength(3);
    expect(peers.telemetry().dropped).toBe(1);
  });

  it('hands snapshot transfer frames to the host with who sent them, not across an ingress cut, and sends them through the link rule', async () => {
    const got: [string, unknown][] = [];
    const { dir, peers, malformed } = setup(() => {}, (from, frame) => got.push([from, frame]));
    const { frames } = await fakePeer(dir, true);
    await peers.listen();
    const socket = await new Promise<Socket>((resolve) => {
      const s = createConnection(socketPath(dir, 'n1'), () => resolve(s));
    });
    cleanups.push(() => socket.destroy());
    socket.write(encodeFrame({ type: 'hello', secret, from: 'n2' }));
    socket.write(encodeFrame({ type: 'snap-ack', transfer: 't1', offset: 0, resend: false }));
    await sleep(100);
    peers.setRules([rule({ from: 'n2', to: 'n1', cut: true })]);
    socket.write(encodeFrame({ type: 'snap-ack', transfer: 't1', offset: 5, resend: false }));
    await sleep(100);
    expect(got).toEqual([['n2', { type: 'snap-ack', transfer: 't1', offset: 0, resend: false }]]);
    expect(malformed).toEqual([]);
    // Egress: a frame of its own (not in a raft batch); a cut link drops it and says so.
    expect(peers.sendFrame('n2', { type: 'snap-done', transfer: 't1' })).toBe(true);
    peers.setRules([rule({ cut: true })]);
    expect(peers.sendFrame('n2', { type: 'snap-done', transfer: 't2' })).toBe(false);
    peers.setRules([rule({ delayMs: 50 })]);
    expect(peers.sendFrame('n2', { type: 'snap-done', transfer: 't3' })).toBe(true);
    await sleep(250);
    expect(frames.slice(1)).toEqual([
      { type: 'snap-done', transfer: 't1' },
      { type: 'snap-done', transfer: 't3' },
    ]);
  });
});

describe('encodeRaftFrame', () => {
  const entries = [1, 2, 3].map((index) => ({ index, term: 2, lsn: index * 100, kind: 'sql' as const, data: `{"sql":"INSERT \\"${index}\\"","params":[]}`, client: 'c-1', request: index }));
  const decode = (frame: Buffer): unknown => new FrameDecoder().push(frame)[0];

  it('decodes to exactly the messages, and shares one JSON of the entries between the peers of a turn', () => {
    const toN2: Message[] = [
      { type: 'heartbeat', from: 'n1', to: 'n2', term: 2, commit: 1, context: 0 },
      { type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex: 0, prevTerm: 0, entries: entries.slice(), commit: 0 },
      { type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex: 3, prevTerm: 2, entries: [], commit: 3 },
    ];
    const toN3: Message[] = [{ type: 'append', from: 'n1', to: 'n3', term: 2, prevIndex: 0, prevTerm: 0, entries: entries.slice(), commit: 0 }];
    const shared = new Map();
    expect(decode(encodeRaftFrame(toN2, shared))).toEqual({ type: 'raft', messages: toN2 });
    expect(shared.size).toBe(1);
    expect(decode(encodeRaftFrame(toN3, shared))).toEqual({ type: 'raft', messages: toN3 });
    expect(shared.size).toBe(1);
  });

  it('does not reuse the JSON of a batch that starts with the same entry but holds fewer or more', () => {
    const shared = new Map();
    const longer: Message[] = [{ type: 'append', from: 'n1', to: 'n2', term: 2, prevIndex: 0, prevTerm: 0, entries: entries.slice(), commit: 0 }];
    const shorter: Message[] = [{ type: 'append', from: 'n1', to: 'n3', term: 2, prevIndex: 0, prevTerm: 0, entries: entries.slice(0, 1), commit: 0 }];
    expect(decode(encodeRaftFrame(longer, shared))).toEqual({ type: 'raft', messages: longer });
    expect(decode(encodeRaftFrame(shorter, shared))).toEqual({ type: 'raft', messages: shorter });
  });
});
