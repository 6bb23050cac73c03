// Issue 13, rows 1, 2, 8 and 14, on real node processes: whatever a client or
// a peer sends, the caller gets a typed error at once (or the message is
// dropped and counted) and no node goes down. Each test speaks both through
// the Cluster API and, past it, straight to a node's socket (as a raw client
// or as a peer would), and ends with the cluster taking writes and every node
// at the same checksum and applied index.

import { createConnection, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BadRequestError, BadStatementError, type Cluster } from '../../cluster/index.js';
import { clientIdBytesMax, paramsBytesMax, peerPositionMax, statementBytesMax } from '../../cluster/limits.js';
import { encodeFrame, FrameDecoder } from '../../cluster/wire/frames.js';
import { eventually, expectHealthy, startCluster } from './helpers.js';

const insert = 'INSERT INTO kv(k, v) VALUES (?, ?)';
const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

interface Raw {
  send(value: unknown): void;
  /** The reply to request `id`, or null if none came within `timeoutMs`. */
  reply(id: number, timeoutMs?: number): Promise<Record<string, unknown> | null>;
  close(): void;
}

/** A connection to a node's socket that said hello as `from`, past every check of the Cluster API. */
async function raw(cluster: Cluster, node: string, from: string): Promise<Raw> {
  const socket: Socket = createConnection(cluster.socketPath(node));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(cluster.helloFrameForTests(from));
  const replies: Record<string, unknown>[] = [];
  const decoder = new FrameDecoder();
  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      const parts = (frame as { type?: string; messages?: unknown[] }).type === 'batch' ? (frame as { messages: unknown[] }).messages : [frame];
      for (const part of parts) replies.push(part as Record<string, unknown>);
    }
  });
  return {
    send: (value) => socket.write(encodeFrame(value)),
    reply: async (id, timeoutMs = 3_000) => {
      let found: Record<string, unknown> | null = null;
      await eventually(() => (found = replies.find((r) => r['id'] === id) ?? null) !== null, timeoutMs);
      return found;
    },
    close: () => socket.destroy(),
  };
}

function execute(id: number, sql: string, params: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'execute', id, sql, params, replication: null, client: null, request: null, ...extra };
}

/** Expects a typed refusal from the node: a bad-statement reply (not a result, not a timeout) whose message contains `words`. */
async function expectRefused(connection: Raw, id: number, words: string): Promise<void> {
  const reply = await connection.reply(id);
  expect(reply, `a reply to request ${id}`).not.toBeNull();
  expect(reply!['ok']).toBe(false);
  const error = reply!['error'] as { reason: string; message: string };
  expect(error.reason).toBe('bad-statement');
  expect(error.message).toContain(words);
}

/** Expects `call` to reject at once with `type`, its message containing every one of `words`. */
async function expectThrowsAtOnce(call: () => Promise<unknown>, type: typeof BadStatementError | typeof BadRequestError, words: string[]): Promise<void> {
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  for (const word of words) expect((error as Error).message).toContain(word);
}


async function started(): Promise<{ cluster: Cluster; leader: string; index: number }> {
  const cluster = await startCluster({ nodes: 3, seed: 13 });
  const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
  const { index } = await cluster.execute(upsert, ['before', 'ok']);
  return { cluster, leader, index };
}

describe('hostile input (issue 13)', () => {
  it('row 1: a 17 MiB parameter is refused at once, by the API and by the node, and no node goes down', async () => {
    const { cluster, leader } = await started();
    const big = 'x'.repeat(17 * 2 ** 20);
    await expectThrowsAtOnce(() => cluster.execute(insert, ['big', big]), BadStatementError, ['paramsBytesMax', String(paramsBytesMax), String(big.length + 2 + 7 + 1)]);
    const connection = await raw(cluster, leader, 'client');
    connection.send(execute(1, insert, ['big', big]));
    await expectRefused(connection, 1, `over the limit of ${paramsBytesMax} bytes (paramsBytesMax)`);
    connection.close();
    await expectHealthy(cluster);
  });

  it('row 2: a 70,000-character client id or one with a lone surrogate is refused at once, by the API and by the node', async () => {
    const { cluster, leader } = await started();
    const long = 'c'.repeat(70_000);
    await expectThrowsAtOnce(() => cluster.execute(insert, ['k', 'v'], { client: long }), BadRequestError, ['clientIdBytesMax', String(clientIdBytesMax), '70000']);
    await expectThrowsAtOnce(() => cluster.execute(insert, ['k', 'v'], { client: 'ab\uD800' }), BadRequestError, ['the client id is not well-formed UTF-16', 'character 2']);
    await expectThrowsAtOnce(() => cluster.execute(insert, ['k', 'ab\uD800']), BadStatementError, ['parameter 2 is not well-formed UTF-16']);
    await expectThrowsAtOnce(() => cluster.execute(insert, ['k', 'v'], { client: 'c1', request: 1.5 }), BadRequestError, ['requestIdMax']);
    const connection = await raw(cluster, leader, 'client');
    connection.send(execute(1, insert, ['k', 'v'], { client: long }));
    connection.send(execute(2, insert, ['k', 'v'], { client: 'ab\uD800' }));
    connection.send(execute(3, 'INSERT INTO kv(k, v) VALUES (\'\uDC00\', 1)', []));
    // A request id the protocol refuses: the request is answered, not dropped.
    connection.send(execute(4, insert, ['k', 'v'], { client: 'c1', request: 1.5 }));
    await expectRefused(connection, 1, `over the limit of ${clientIdBytesMax} bytes (clientIdBytesMax)`);
    await expectRefused(connection, 2, 'the client id is not well-formed UTF-16');
    await expectRefused(connection, 3, 'the statement is not well-formed UTF-16');
    await expectRefused(connection, 4, 'request');
    connection.close();
    await expectHealthy(cluster);
  });

  it('row 8: SQL over 1,000,000 characters gets a BadStatementError at once, from the API and from the node', async () => {
    const { cluster, leader } = await started();
    const sql = `INSERT INTO kv(k, v) VALUES ('long', 'sql')${' '.repeat(1_000_000)}`;
    await expectThrowsAtOnce(() => cluster.execute(sql), BadStatementError, ['statementBytesMax', String(statementBytesMax), String(sql.length)]);
    await expectThrowsAtOnce(() => cluster.query(`SELECT 1${' '.repeat(1_000_000)}`), BadStatementError, ['statementBytesMax']);
    const connection = await raw(cluster, leader, 'client');
    connection.send(execute(1, sql, []));
    connection.send({ type: 'query', id: 2, sql: `SELECT 1${' '.repeat(1_000_000)}`, params: [], consistency: 'local', minIndex: 0, timeoutMs: 1000 });
    await expectRefused(connection, 1, `over the limit of ${statementBytesMax} bytes (statementBytesMax)`);
    await expectRefused(connection, 2, `over the limit of ${statementBytesMax} bytes (statementBytesMax)`);
    connection.close();
    await expectHealthy(cluster);
  });

  it('row 14: a peer message with term 2^49 (or 2^40 - 1, above what leaves room for elections), or an append with a wrong lsn, is dropped and counted; nothing is persisted', async () => {
    const { cluster, leader, index } = await started();
    const follower = cluster.ids.find((id) => id !== leader)!;
    // Every node's telemetry at the leader's term and last index, the write applied everywhere.
    const converged = await eventually(() => {
      const nodes = cluster.status();
      const lead = nodes.find((n) => n.id === leader)!;
      return lead.role === 'leader' && lead.lastIndex >= index && nodes.every((n) => n.term === lead.term && n.lastIndex === lead.lastIndex && n.appliedIndex === lead.lastIndex);
    }, 5_000);
    expect(converged, JSON.stringify(cluster.status().map((n) => [n.id, n.role, n.term, n.lastIndex, n.appliedIndex]))).toBe(true);
    const before = cluster.status().find((n) => n.id === follower)!;
    const { term, lastIndex, lastLsn } = before;
    // A noop's record is 32 header bytes + 'noop'.
    const noopBytes = 36;
    const noop = (index: number, lsn: number): Record<string, unknown> => ({ index, term, lsn, kind: 'noop', data: '' });
    const append = (entries: unknown[]): Record<string, unknown> => ({ type: 'append', from: leader, to: follower, term, prevIndex: lastIndex, prevTerm: term, entries, commit: 0 });
    const peer = await raw(cluster, follower, leader);
    peer.send({
      type: 'raft',
      messages: [
        { type: 'heartbeat', from: leader, to: follower, term: 2 ** 49, commit: 0, context: 0 },
        { type: 'vote', from: leader, to: follower, term: peerPositionMax + 1, pre: false, lastIndex: 2 ** 49, lastTerm: 2 ** 49, transfer: false },
        // Consistent with itself, but not with the follower's log at prevIndex: only the host can tell.
        append([noop(lastIndex + 1, lastLsn + noopBytes + 1)]),
        // Not consistent with itself: the second lsn is not the first plus its record size.
        append([noop(lastIndex + 1, lastLsn + noopBytes), noop(lastIndex + 2, lastLsn + 3 * noopBytes)]),
      ],
    });
    const counted = await eventually(() => cluster.status().find((n) => n.id === follower)!.malformedMessages >= before.malformedMessages + 4, 3_000);
    expect(counted, `malformed: ${cluster.status().find((n) => n.id === follower)!.malformedMessages}`).toBe(true);
    const reasons = (): string =>
      cluster
        .events()
        .map((e) => e.event)
        .filter((e) => e.type === 'malformed-message' && e.node === follower)
        .map((e) => (e as { reason: string }).reason)
        .join('\n');
    expect(reasons()).toContain('peerPositionMax');
    // Within the link's range, but it would leave no term for the elections after it (the follower's is far
    // below): refused by the host. Sent until its reason is reported (a node reports one reason a second).
    const noRoom = { type: 'heartbeat', from: leader, to: follower, term: peerPositionMax, commit: 0, context: 0 };
    const reported = await eventually(() => {
      peer.send({ type: 'raft', messages: [noRoom] });
      return reasons().includes('peerTermAdoptMax');
    }, 5_000, 100);
    expect(reported, reasons()).toBe(true);
    peer.close();
    // The huge term went nowhere: not adopted, not persisted, not spread.
    for (const node of cluster.status()) expect(node.term, node.id).toBeLessThan(peerPositionMax);
    expect(cluster.status().find((n) => n.id === follower)!.term).toBe(term);
    await expectHealthy(cluster);
    for (const node of cluster.status()) expect(node.term, node.id).toBe(term);
  });
});
