// The chunked snapshot transfer: sender and receiver over a real Unix socket
// pair (length-prefixed JSON frames, as the node's links carry), and over an
// in-process link that loses, duplicates or corrupts frames.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installSnapshot, openSnapshots, snapshotsDir, takeSnapshot, type SavedSnapshot } from '../../cluster/snapshot/index.js';
import { parseSnapshotFrame, type SnapshotFrame } from '../../cluster/snapshot/frames.js';
import { SnapshotReceiver, SnapshotSender, type ReceivedSnapshot } from '../../cluster/snapshot/transfer.js';
import { encodeFrame, FrameDecoder, readFrames } from '../../cluster/wire/frames.js';
import { Invalid } from '../../cluster/protocol.js';
import { metaAt, rowEntries, useNodeDirs } from './helpers.js';

const nodes = useNodeDirs();

/** A leader's snapshot of `rows` rows, and an empty follower dir. */
async function leaderSnapshot(rows: number): Promise<{ snapshot: SavedSnapshot; leaderDir: string; checksum: string }> {
  const leaderDir = nodes.dir();
  const store = nodes.open(leaderDir);
  store.applyBatch(rowEntries(1, rows));
  const { saved } = await takeSnapshot({ nodeDir: leaderDir, fsync: false, metaFor: metaAt });
  return { snapshot: saved, leaderDir, checksum: store.checksum() };
}

function receivedFiles(dir: string): string[] {
  return existsSync(snapshotsDir(dir)) ? readdirSync(snapshotsDir(dir)).filter((name) => name.startsWith('.receiving-')) : [];
}

/** Two ends of a Unix socket connection carrying frames both ways. */
async function socketPair(dir: string): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const path = join(dir, 'link.sock');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const a = createConnection(path);
  const b = await accepted;
  await new Promise<void>((resolve) => (a.readyState === 'open' ? resolve() : a.once('connect', () => resolve())));
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}

function onFrames(socket: Socket, handle: (frame: unknown) => void): void {
  readFrames(socket, new FrameDecoder(), (frames) => frames.forEach(handle), (reason) => {
    throw new Error(reason);
  });
}

describe('over a Unix socket pair', () => {
  it('streams the snapshot in chunks within the window, and the follower installs the same state', async () => {
    const { snapshot, checksum } = await leaderSnapshot(30_000);
    const follower = nodes.dir();
    const pair = await socketPair(follower);
    try {
      const chunkBytes = 64 * 1024;
      expect(snapshot.bytes).toBeGreaterThan(8 * chunkBytes);
      const sender = new SnapshotSender({ snapshot, send: (frame) => pair.a.write(encodeFrame(frame)), chunkBytes, window: 4 });
      let received: ReceivedSnapshot | null = null;
      const receiver = new SnapshotReceiver({ nodeDir: follower, fsync: true, send: (frame) => pair.b.write(encodeFrame(frame)), onReceived: (r) => (received = r) });
      onFrames(pair.b, (frame) => receiver.onFrame(frame));
      onFrames(pair.a, (frame) => {
        const parsed = parseSnapshotFrame(frame);
        if (!(parsed instanceof Invalid)) sender.onFrame(parsed);
      });
      const sent = await sender.start();
      expect(sent).toMatchObject({ bytes: snapshot.bytes, rewinds: 0, chunksSent: Math.ceil(snapshot.bytes / chunkBytes) });
      expect(sent.durationMs).toBeGreaterThan(0);
      expect(sender.maxInFlightBytes).toBeLessThanOrEqual(4 * chunkBytes);
      expect(received).not.toBeNull();
      const got = received!;
      expect(got).toMatchObject({ meta: snapshot.meta, bytes: snapshot.bytes, sha256: snapshot.sha256 });
      expect(createHash('sha256').update(readFileSync(got.file)).digest('hex')).toBe(snapshot.sha256);
      expect(receiver.malformed).toBe(0);
      installSnapshot({ nodeDir: follower, file: got.file, meta: got.meta, bytes: got.bytes, sha256: got.sha256, fsync: true });
      expect(nodes.open(follower).checksum()).toBe(checksum);
    } finally {
      pair.close();
    }
  });
});

/** An in-process link: frames pass through JSON (as on the wire) and `tamper` may drop, duplicate or change them. */
function link(tamper: (frame: SnapshotFrame, n: number) => SnapshotFrame[] = (frame) => [frame]) {
  let n = 0;
  return (deliver: (value: unknown) => void) =>
    (frame: SnapshotFrame): boolean => {
      const out = tamper(frame, n++);
      for (const value of out) setImmediate(() => deliver(JSON.parse(JSON.stringify(value))));
      return true;
    };
}

function wire(options: { snapshot: SavedSnapshot; follower: string; toReceiver?: ReturnType<typeof link>; chunkBytes?: number; window?: number; ackTimeoutMs?: number; retriesMax?: number; idleTimeoutMs?: number }) {
  const toReceiver = options.toReceiver ?? link();
  const toSender = link();
  const abandoned: string[] = [];
  const received: ReceivedSnapshot[] = [];
  let sender: SnapshotSender;
  const receiver = new SnapshotReceiver({
    nodeDir: options.follower,
    fsync: false,
    idleTimeoutMs: options.idleTimeoutMs,
    send: toSender((value) => {
      const parsed = parseSnapshotFrame(value);
      if (!(parsed instanceof Invalid)) sender.onFrame(parsed);
    }),
    onReceived: (r) => received.push(r),
    onAbandoned: (reason) => abandoned.push(reason),
  });
  sender = new SnapshotSender({ snapshot: options.snapshot, send: toReceiver((value) => receiver.onFrame(value)), chunkBytes: options.chunkBytes ?? 16 * 1024, window: options.window ?? 3, ackTimeoutMs: options.ackTimeoutMs ?? 200, retriesMax: options.retriesMax });
  return { sender, receiver, received, abandoned };
}

describe('flow control and faults', () => {
  it('a lost chunk is resent from the acknowledged offset; a duplicated one is ignored', async () => {
    const { snapshot } = await leaderSnapshot(3_000);
    const follower = nodes.dir();
    let dropped = false;
    const lossy = link((frame, n) => {
      if (frame.type === 'snap-chunk' && frame.offset === 2 * 16 * 1024 && !dropped) {
        dropped = true;
        return [];
      }
      return frame.type === 'snap-chunk' && n % 5 === 0 ? [frame, frame] : [frame];
    });
    const { sender, receiver, received } = wire({ snapshot, follower, toReceiver: lossy });
    const sent = await sender.start();
    expect(dropped).toBe(true);
    expect(sent.rewinds).toBeGreaterThanOrEqual(1);
    expect(sent.chunksSent).toBeGreaterThan(Math.ceil(snapshot.bytes / (16 * 1024)));
    expect(received).toHaveLength(1);
    expect(received[0]!.sha256).toBe(snapshot.sha256);
    expect(receiver.busy).toBe(false);
  });

  it('a lost snap-done: the sender resends, the receiver says done again, and the sender succeeds', async () => {
    const { snapshot } = await leaderSnapshot(500);
    const follower = nodes.dir();
    const received: ReceivedSnapshot[] = [];
    let lost = false;
    let sender: SnapshotSender | null = null;
    const receiver = new SnapshotReceiver({
      nodeDir: follower,
      fsync: false,
      onReceived: (r) => received.push(r),
      // The receiver's replies: the first snap-done is lost on the way back.
      send: (frame) => {
        if (frame.type === 'snap-done' && !lost) {
          lost = true;
          return;
        }
        setImmediate(() => sender!.onFrame(frame));
      },
    });
    sender = new SnapshotSender({ snapshot, ackTimeoutMs: 50, send: (frame) => void setImmediate(() => receiver.onFrame(JSON.parse(JSON.stringify(frame)))) });
    const result = await sender.start();
    expect(lost).toBe(true);
    expect(result.rewinds).toBeGreaterThanOrEqual(1);
    expect(received).toHaveLength(1);
  });

  it('bytes that do not match the announced sha256 are refused: the file is removed and the sender told', async () => {
    const { snapshot } = await leaderSnapshot(1_000);
    const follower = nodes.dir();
    const { sender, received, abandoned } = wire({ snapshot: { ...snapshot, sha256: 'ab'.repeat(32) }, follower });
    await expect(sender.start()).rejects.toThrow(/receiver abandoned the transfer: the bytes received do not match the announced sha256/);
    expect(received).toEqual([]);
    expect(abandoned).toHaveLength(1);
    expect(receivedFiles(follower)).toEqual([]);
  });

  it('a snapshot whose file is gone is refused at once', async () => {
    const { snapshot } = await leaderSnapshot(10);
    const sender = new SnapshotSender({ snapshot: { ...snapshot, path: `${snapshot.path}.missing` }, send: () => true });
    await expect(sender.start()).rejects.toThrow(/is gone/);
  });

  it('a receiver that never answers makes the sender give up after its retries', async () => {
    const { snapshot } = await leaderSnapshot(100);
    const sent: SnapshotFrame[] = [];
    const sender = new SnapshotSender({ snapshot, send: (frame) => void sent.push(frame), ackTimeoutMs: 20, retriesMax: 2 });
    await expect(sender.start()).rejects.toThrow(/no progress for 3 timeouts/);
    expect(sent.map((f) => f.type)).toEqual(['snap-begin', 'snap-begin', 'snap-begin', 'snap-abort']);
  });

  it('a sender that dies mid-transfer: abandoned on the idle timeout or when told, the partial file removed', async () => {
    const { snapshot } = await leaderSnapshot(3_000);
    const follower = nodes.dir();
    const cut = link((frame) => (frame.type === 'snap-chunk' && frame.offset >= 32 * 1024 ? [] : [frame]));
    const { sender, receiver, abandoned } = wire({ snapshot, follower, toReceiver: cut, idleTimeoutMs: 100, ackTimeoutMs: 10_000 });
    void sender.start().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(receiver.busy).toBe(true);
    expect(receivedFiles(follower)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(receiver.busy).toBe(false);
    expect(abandoned[0]).toMatch(/no frame for 100 ms/);
    expect(receivedFiles(follower)).toEqual([]);
    sender.abandon('test over');

    // Told directly (the host saw the peer's link close).
    const again = wire({ snapshot, follower, toReceiver: cut, ackTimeoutMs: 10_000 });
    void again.sender.start().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 30));
    again.receiver.abandon('n1 died');
    expect(again.abandoned).toEqual(['n1 died']);
    expect(receivedFiles(follower)).toEqual([]);
    again.sender.abandon('test over');
  });
});

describe('malformed frames', () => {
  it('are counted and dropped or answered with an abort, never crash, and a good transfer still follows', async () => {
    const { snapshot } = await leaderSnapshot(1_000);
    const follower = nodes.dir();
    const replies: SnapshotFrame[] = [];
    const received: ReceivedSnapshot[] = [];
    const receiver = new SnapshotReceiver({ nodeDir: follower, fsync: false, send: (f) => void replies.push(f), onReceived: (r) => received.push(r), bytesMax: 10 * 1024 * 1024 });
    const begin = { type: 'snap-begin', transfer: 't1', meta: snapshot.meta, bytes: snapshot.bytes, sha256: snapshot.sha256 };
    const bad: unknown[] = [
      null,
      'snap-begin',
      [],
      { type: 'snap-chunk' },
      { type: 'snap-nope', transfer: 't1' },
      { ...begin, transfer: '../../etc' },
      { ...begin, bytes: -1 },
      { ...begin, sha256: 'xyz' },
      { ...begin, meta: { ...snapshot.meta, membership: { voters: [], learners: [] } } },
      { ...begin, meta: { ...snapshot.meta, index: 1.5 } },
      { type: 'snap-chunk', transfer: 't1', offset: 0, data: '!!!!' },
      { type: 'snap-chunk', transfer: 't1', offset: -5, data: 'AAAA' },
      { type: 'snap-chunk', transfer: 't1', offset: 0, data: 'A'.repeat(2_000_000) },
      { type: 'snap-ack', transfer: 't1', offset: 0, resend: false },
    ];
    for (const value of bad) receiver.onFrame(value);
    expect(receiver.malformed).toBe(bad.length);
    expect(receiver.busy).toBe(false);
    // Over this node's limit: refused before any file exists.
    receiver.onFrame({ ...begin, transfer: 'big', bytes: 11 * 1024 * 1024 });
    expect(replies.at(-1)).toMatchObject({ type: 'snap-abort', transfer: 'big', reason: expect.stringContaining('over this node') });
    expect(receivedFiles(follower)).toEqual([]);
    // A chunk for no transfer: its sender is told to stop.
    receiver.onFrame({ type: 'snap-chunk', transfer: 'ghost', offset: 0, data: 'AAAA' });
    expect(replies.at(-1)).toMatchObject({ type: 'snap-abort', transfer: 'ghost' });
    // A chunk that runs past the announced size ends the transfer and removes its file.
    receiver.onFrame({ ...begin, bytes: 3 });
    expect(receivedFiles(follower)).toHaveLength(1);
    receiver.onFrame({ type: 'snap-chunk', transfer: 't1', offset: 0, data: Buffer.alloc(6).toString('base64') });
    expect(replies.at(-1)).toMatchObject({ type: 'snap-abort', transfer: 't1', reason: expect.stringContaining('runs past') });
    expect(receivedFiles(follower)).toEqual([]);
    // Out of order: ahead is not written (resend), behind is acknowledged again.
    receiver.onFrame({ ...begin, transfer: 't2' });
    const bytes = readFileSync(snapshot.path);
    const piece = (from: number, to: number) => bytes.subarray(from, to).toString('base64');
    receiver.onFrame({ type: 'snap-chunk', transfer: 't2', offset: 1000, data: piece(1000, 2000) });
    expect(replies.at(-1)).toEqual({ type: 'snap-ack', transfer: 't2', offset: 0, resend: true });
    receiver.onFrame({ type: 'snap-chunk', transfer: 't2', offset: 0, data: piece(0, 999) });
    receiver.onFrame({ type: 'snap-chunk', transfer: 't2', offset: 0, data: piece(0, 999) });
    expect(replies.at(-1)).toEqual({ type: 'snap-ack', transfer: 't2', offset: 999, resend: false });
    receiver.onFrame({ type: 'snap-chunk', transfer: 't2', offset: 999, data: piece(999, bytes.length) });
    expect(replies.at(-1)).toEqual({ type: 'snap-done', transfer: 't2' });
    expect(received).toHaveLength(1);
    expect(received[0]!.sha256).toBe(snapshot.sha256);
  });
});

describe('received, then installed', () => {
  it('the follower ends with the leader state, and the install reports bytes and duration', async () => {
    const { snapshot, checksum } = await leaderSnapshot(2_000);
    const follower = nodes.dir();
    const old = nodes.open(follower);
    old.applyBatch(rowEntries(1, 10, 1, 'old'));
    nodes.close(old);
    const { sender, received } = wire({ snapshot, follower, chunkBytes: 32 * 1024 });
    const sent = await sender.start();
    const got = received[0]!;
    const installed = installSnapshot({ nodeDir: follower, file: got.file, meta: got.meta, bytes: got.bytes, sha256: got.sha256, fsync: false });
    expect(installed.bytes).toBe(sent.bytes);
    const store = nodes.open(follower);
    expect(store.appliedIndex()).toBe(2_000);
    expect(store.checksum()).toBe(checksum);
    expect(openSnapshots(follower, () => {}).snapshots[0]!.sha256).toBe(snapshot.sha256);
  });
});
