// A client connection never sends a frame the node would refuse: a request
// too large for one frame is answered at once, and a batch over the limit is
// split so the requests that fit still go.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeClient } from '../../cluster/wire/client.js';
import { FrameDecoder, frameBytesMax } from '../../cluster/wire/frames.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A fake node that records every frame and answers each execute with ok. */
async function fakeNode(): Promise<{ path: string; frames: unknown[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'rl-client-'));
  const path = join(dir, 'n1.sock');
  const frames: unknown[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const decoder = new FrameDecoder(frameBytesMax);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) frames.push(frame);
    });
  });
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, frames };
}

const execute = (params: string[]) => ({ type: 'execute', sql: 'INSERT INTO kv(k, v) VALUES (?, ?)', params, replication: null, client: null, request: null }) as const;

describe('NodeClient', () => {
  it('answers a request over the frame limit at once with a typed reply, and sends the ones that fit', async () => {
    const { path, frames } = await fakeNode();
    const client = new NodeClient('n1', path, 'secret');
    cleanups.push(() => client.close());
    const huge = client.request(execute(['k', 'x'.repeat(frameBytesMax)]), 5_000);
    void client.request(execute(['k', 'small']), 10_000);
    const reply = await huge;
    // Refused before sending: a request that was sent and waited would end at its deadline as a timeout instead.
    expect(reply.ok).toBe(false);
    expect(reply.error!.reason).toBe('bad-statement');
    expect(reply.error!.message).toContain(`over the limit of ${frameBytesMax} bytes (frameBytesMax); it was not sent`);
    // The small one went on its own frame (the fake node never answers it; close() does).
    const sent = (): string[] => frames.filter((f) => (f as { type?: string }).type === 'execute').map((f) => (f as { params: string[] }).params[1]!);
    const deadline = Date.now() + 5_000;
    while (sent().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent()).toEqual(['small']);
  });
});
