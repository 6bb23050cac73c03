// A rebuilt node (issue 13, row 9): its log and state are wiped, `meta` and a
// floor kept. Driven in-process, a real host shows what the floor is for: with
// an empty log it would vote for a candidate missing entries its old log held
// (an acknowledged entry could then be lost); with the floor it votes only for
// logs at least as up to date as its old one, never campaigns, and drops the
// floor once replication brings its own log there.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryBytes, type Entry, type Message } from '../../cluster/core/index.js';
import type { NodeConfig } from '../../cluster/node/config.js';
import { NodeHost, type HostIo } from '../../cluster/node/host.js';
import { rebuildFloorFile, wipeForRebuild } from '../../cluster/node/rebuild.js';
import type { FromNode } from '../../cluster/protocol.js';
import { openWal } from '../../cluster/wal/index.js';
import { eventually } from '../cluster/helpers.js';
import { testHostIo, testNodeConfig } from './helpers.js';

const dirs: string[] = [];
const hosts: NodeHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const config = (dataDir: string): NodeConfig => testNodeConfig(dataDir);

function start(dataDir: string): { host: NodeHost; sent: Message[]; events: { type: string }[] } {
  const sent: Message[] = [];
  const events: { type: string }[] = [];
  const io = testHostIo({
    send: (message: FromNode) => {
      if (message.type === 'events') events.push(...message.events.map((e) => e.event));
    },
    sendRaft: (messages) => sent.push(...messages),
  });
  const host = new NodeHost(config(dataDir), io);
  hosts.push(host);
  return { host, sent, events };
}

/** Five entries of term 2, with the lsn a real log gives them. */
function log(): Entry[] {
  let lsn = 0;
  return [1, 2, 3, 4, 5].map((index) => {
    const data = JSON.stringify({ sql: 'INSERT INTO kv(k, v) VALUES (?, ?)', params: [`k${index}`, 'v'] });
    lsn += entryBytes('sql', data, undefined);
    return { index, term: 2, lsn, kind: 'sql' as const, data };
  });
}

/** A node dir whose log held entries 1..5 of term 2 and whose meta says term 2. */
async function oldNode(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-rebuild-'));
  dirs.push(dir);
  const { wal } = openWal({ dir, fsync: false });
  wal.saveHardState({ term: 2, vote: 'n1' });
  wal.write(1, log());
  await wal.flush();
  await wal.close();
  return dir;
}

const vote = (from: string, lastIndex: number, lastTerm: number, term = 3): Message => ({ type: 'vote', from, to: 'n2', term, pre: false, lastIndex, lastTerm, transfer: false });
const granted = (sent: Message[], to: string): boolean => sent.some((m) => m.type === 'vote-resp' && m.to === to && m.granted);

describe('a rebuilt node', () => {
  it('without the floor, an empty log would vote for a candidate missing entries it had held', async () => {
    const dir = await oldNode();
    rmSync(join(dir, 'wal'), { recursive: true });
    const { host, sent } = start(dir);
    host.receiveRaft([vote('n3', 3, 2)]);
    expect(granted(sent, 'n3')).toBe(true);
  });

  it('keeps meta, votes only for logs as up to date as its old one, never campaigns, and drops the floor once caught up', async () => {
    const dir = await oldNode();
    expect(wipeForRebuild(dir)).toEqual({ term: 2, index: 5 });
    expect(JSON.parse(readFileSync(join(dir, rebuildFloorFile), 'utf8'))).toEqual({ term: 2, index: 5 });
    expect(existsSync(join(dir, 'wal'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'meta'), 'utf8'))).toMatchObject({ term: 2, vote: 'n1' });
    // A second rebuild before it caught up keeps the floor (its log is empty now).
    expect(wipeForRebuild(dir)).toEqual({ term: 2, index: 5 });

    const { host, sent, events } = start(dir);
    // Many election timeouts' worth of ticks: it does not campaign.
    for (let i = 0; i < 100; i++) host.tick();
    expect(sent.filter((m) => m.type === 'vote')).toEqual([]);

    // n3 lacks entries 4 and 5: no vote (the request is dropped, as if the node were down).
    host.receiveRaft([vote('n3', 3, 2)]);
    expect(sent.filter((m) => m.type === 'vote-resp')).toEqual([]);
    // n1 holds them: granted.
    host.receiveRaft([vote('n1', 5, 2)]);
    expect(granted(sent, 'n1')).toBe(true);

    // n1 leads term 3 and copies the log back; once it is durable the floor is gone.
    host.receiveRaft([{ type: 'append', from: 'n1', to: 'n2', term: 3, prevIndex: 0, prevTerm: 0, entries: log(), commit: 5 }]);
    expect(await eventually(() => !existsSync(join(dir, rebuildFloorFile)), 5_000)).toBe(true);
    expect(events.some((e) => e.type === 'node-rebuilt')).toBe(true);
    expect(host.telemetry(false).appliedIndex).toBe(5);
  });
});
