// A log that ends below what state.db applied (its last segment zeroed or cut)
// reads like a clean log; the node refuses to start on it (issue 13), except
// where fsync off allows the loss: after the machine restarted. And a rebuild
// of such a node takes its floor from state.db; a corrupt meta is replaced by
// the node's own vote in the highest term known.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryBytes, type Entry } from '../../cluster/core/index.js';
import { corruptionOf, CorruptStateError } from '../../cluster/node/corrupt.js';
import { readRebuildFloor, rebuildFloorFile, wipeForRebuild } from '../../cluster/node/rebuild.js';
import { bootIdFile, openNodeState, snapshotPolicyDefault } from '../../cluster/node/snapshots.js';
import { Store } from '../../cluster/store/index.js';
import { openWal } from '../../cluster/wal/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function log(n: number, term = 2): Entry[] {
  let lsn = 0;
  return Array.from({ length: n }, (_, i) => {
    const data = JSON.stringify({ sql: 'INSERT INTO kv(k, v) VALUES (?, ?)', params: [`k${i + 1}`, 'v'] });
    lsn += entryBytes('sql', data, undefined);
    return { index: i + 1, term, lsn, kind: 'sql' as const, data };
  });
}

/** A node dir whose state.db applied entries 1..8 and whose log then lost 6..8 (cut at 5). */
async function nodeWithLostEnd(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-lost-end-'));
  dirs.push(dir);
  const entries = log(8);
  const { wal } = openWal({ dir, fsync: false });
  wal.saveHardState({ term: 2, vote: 'n1' });
  wal.write(1, entries);
  await wal.flush();
  await wal.close();
  const store = Store.open({ dir });
  store.rebuild(entries);
  expect(store.appliedIndex()).toBe(8);
  store.close();
  const reopened = openWal({ dir, fsync: false });
  reopened.wal.write(6, []);
  await reopened.wal.flush();
  await reopened.wal.close();
  return dir;
}

const open = (dir: string, fsync: boolean) =>
  openNodeState({ id: 'n2', dataDir: dir, fsync, allowNondeterministic: false, policy: { ...snapshotPolicyDefault, everyEntries: 0 }, log: () => {} });

const bootId = (): string | null => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
};

describe('a log that lost its end below state.db', () => {
  it('is refused as corrupt with fsync on, naming the segment and both indexes, and nothing is changed', async () => {
    const dir = await nodeWithLostEnd();
    const before = readdirSync(join(dir, 'wal')).map((name) => readFileSync(join(dir, 'wal', name)).toString('hex'));
    let error: unknown = null;
    try {
      open(dir, true);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorruptStateError);
    const corrupt = corruptionOf(error)!;
    expect(corrupt.at).toMatchObject({ segment: '00000000000000000001.seg', index: 6, reason: 'log-behind-state' });
    expect(corrupt.at.offset).toBe(log(5)[4]!.lsn);
    expect(corrupt.message).toMatch(/^corrupt WAL: segment 00000000000000000001\.seg, offset \d+: the log ends at index 5 but state\.db applied up to index 8 \(term 2\): entries 6\.\.8/);
    expect(readdirSync(join(dir, 'wal')).map((name) => readFileSync(join(dir, 'wal', name)).toString('hex'))).toEqual(before);
    const store = Store.open({ dir });
    expect(store.appliedIndex()).toBe(8);
    store.close();
  });

  it.runIf(bootId() !== null)('with fsync off: refused when the machine did not restart, rebuilt from the log when it did', async () => {
    const dir = await nodeWithLostEnd();
    writeFileSync(join(dir, bootIdFile), `${bootId()}\n`);
    expect(() => open(dir, false)).toThrow(CorruptStateError);
    // Another boot: fsync off promises nothing across a machine crash, so the state follows the log, and says why.
    writeFileSync(join(dir, bootIdFile), '00000000-0000-0000-0000-000000000000\n');
    const opened = open(dir, false);
    try {
      expect(opened.appliedIndex).toBe(5);
      expect(opened.events.map((e) => (e.type === 'state-rebuilt' ? e.reason : ''))).toContainEqual(expect.stringContaining('fsync is off and the machine restarted'));
      expect(readFileSync(join(dir, bootIdFile), 'utf8').trim()).toBe(bootId());
    } finally {
      opened.store.close();
      await opened.wal.close();
    }
  });

  it("a rebuild's floor is what state.db applied, above the log's end", async () => {
    const dir = await nodeWithLostEnd();
    expect(wipeForRebuild(dir)).toEqual({ index: 8, term: 2 });
    expect(JSON.parse(readFileSync(join(dir, rebuildFloorFile), 'utf8'))).toEqual({ term: 2, index: 8 });
    expect(existsSync(join(dir, 'state.db'))).toBe(false);
  });

  it('a rebuild replaces a corrupt meta by its own vote in the highest term known, keeping the old one aside', async () => {
    const dir = await nodeWithLostEnd();
    writeFileSync(join(dir, 'meta'), '{"term":"garbage"');
    expect(() => wipeForRebuild(dir)).toThrow(/does not read back/);
    const kept: string[] = [];
    expect(wipeForRebuild(dir, new Date(0), { id: 'n2', termSeen: 7, keptAside: kept })).toEqual({ index: 8, term: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'meta'), 'utf8'))).toEqual({ term: 7, vote: 'n2' });
    expect(kept).toEqual([join(dir, 'meta-corrupt-1970-01-01T00-00-00-000Z')]);
    expect(readFileSync(kept[0]!, 'utf8')).toBe('{"term":"garbage"');
  });
});

describe('a rebuild with a directory where meta belongs', () => {
  it('keeps the directory aside and writes a safe meta', async () => {
    const dir = await nodeWithLostEnd();
    rmSync(join(dir, 'meta'));
    mkdirSync(join(dir, 'meta'));
    writeFileSync(join(dir, 'meta', 'mine'), 'x');
    const kept: string[] = [];
    wipeForRebuild(dir, new Date(0), { id: 'n2', termSeen: 3, keptAside: kept });
    expect(JSON.parse(readFileSync(join(dir, 'meta'), 'utf8'))).toEqual({ term: 3, vote: 'n2' });
    expect(readFileSync(join(kept[0]!, 'mine'), 'utf8')).toBe('x');
  });
});

describe('a rebuild floor that does not read back', () => {
  it('is corrupt (the node refuses to start); a rebuild keeps it aside and takes the most up to date log the others hold', async () => {
    const dir = await nodeWithLostEnd();
    writeFileSync(join(dir, rebuildFloorFile), '{"term":');
    let error: unknown = null;
    try {
      readRebuildFloor(dir);
    } catch (e) {
      error = e;
    }
    expect(corruptionOf(error)?.message).toMatch(/^corrupt rebuild\.json: .* is not a rebuild floor .*the node does not know the log position it must not vote below, so it does not start; rebuild it/);
    expect(() => wipeForRebuild(dir, new Date(0), { id: 'n2', termSeen: 2 })).toThrow(/does not read back/);
    const kept: string[] = [];
    expect(wipeForRebuild(dir, new Date(0), { id: 'n2', termSeen: 2, keptAside: kept, floorSeen: () => ({ term: 3, index: 4 }) })).toEqual({ term: 3, index: 4 });
    expect(readRebuildFloor(dir)).toEqual({ term: 3, index: 4 });
    expect(kept).toEqual([join(dir, `${rebuildFloorFile}-corrupt-1970-01-01T00-00-00-000Z`)]);
  });
});
