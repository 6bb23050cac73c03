// Installing a received snapshot as state.db: a crash before any step, then a
// restart (recoverInstall, openSnapshots, the store reopened), leaves exactly
// the old state or exactly the new one, including an old state whose last
// commits were still only in state.db-wal.
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignLog, installSnapshot, installSteps, openSnapshots, recoverInstall, restoreSnapshot, SnapshotError, snapshotsDir, takeSnapshot, type InstallStep, type SnapshotMeta } from '../../cluster/snapshot/index.js';
import { temporaryPath } from '../../cluster/snapshot/store.js';
import { openWal } from '../../cluster/wal/index.js';
import { makeEntries } from '../wal/helpers.js';
import { metaAt, rowEntries, rows, useNodeDirs } from './helpers.js';

const nodes = useNodeDirs();

class Crash extends Error {}

/**
 * A follower's dir as a crashed process leaves it: state.db and a state.db-wal
 * holding its last commits (copied while its store was still open), 30 rows.
 * And a leader's snapshot at index 80, received into the follower's snapshots dir.
 */
async function setUp() {
  const live = nodes.dir();
  const old = nodes.open(live);
  old.applyBatch(rowEntries(1, 20, 1, 'old'));
  old.applyBatch(rowEntries(21, 30, 1, 'old'));
  const follower = nodes.dir();
  copyFileSync(join(live, 'state.db'), join(follower, 'state.db'));
  copyFileSync(join(live, 'state.db-wal'), join(follower, 'state.db-wal'));
  const oldRows = rows(old);
  const oldChecksum = old.checksum();
  nodes.close(old);

  const leaderDir = nodes.dir();
  const leader = nodes.open(leaderDir);
  leader.applyBatch(rowEntries(1, 80, 2, 'new'));
  const { saved } = await takeSnapshot({ nodeDir: leaderDir, fsync: false, metaFor: (index) => metaAt(index, 2) });
  const received = temporaryPath(snapshotsDir(follower), 'receiving', 'db');
  openSnapshots(follower, () => {});
  copyFileSync(saved.path, received);
  return { follower, received, saved, old: { rows: oldRows, checksum: oldChecksum, index: 30 }, next: { rows: rows(leader), checksum: leader.checksum(), index: 80 } };
}

/** Restarts the follower as the node would: finish or drop the install, read snapshots, open the store. */
function restart(dir: string) {
  const lines: string[] = [];
  const recovered = recoverInstall(dir, (line) => lines.push(line), { fsync: false });
  const opened = openSnapshots(dir, (line) => lines.push(line));
  const store = nodes.open(dir);
  return { recovered, opened, store, lines };
}

describe('installSnapshot', () => {
  it('replaces the state, old WAL file and all, keeps the snapshot as the node own, and reports bytes and duration', async () => {
    const { follower, received, saved, next } = await setUp();
    const installed = installSnapshot({ nodeDir: follower, file: received, meta: saved.meta, bytes: saved.bytes, sha256: saved.sha256, fsync: true });
    expect(installed.bytes).toBe(saved.bytes);
    expect(installed.durationMs).toBeGreaterThan(0);
    expect(existsSync(join(follower, 'state.db-wal'))).toBe(false);
    const { store, opened, recovered } = restart(follower);
    expect(recovered).toEqual({ action: 'none' });
    expect(opened.snapshots.map((s) => [s.meta, s.sha256])).toEqual([[saved.meta, saved.sha256]]);
    expect(store.appliedIndex()).toBe(next.index);
    expect(store.checksum()).toBe(next.checksum);
    expect(rows(store)).toEqual(next.rows);
  });

  it.each(installSteps.map((step) => [step]))('a crash before step %s leaves the old state or the new one, never a mix', async (crashAt: InstallStep) => {
    const { follower, received, saved, old, next } = await setUp();
    expect(() =>
      installSnapshot({
        nodeDir: follower,
        file: received,
        meta: saved.meta,
        bytes: saved.bytes,
        sha256: saved.sha256,
        fsync: false,
        step: (step) => {
          if (step === crashAt) throw new Crash(`crash before ${step}`);
        },
      }),
    ).toThrow(Crash);
    const { store, recovered, lines } = restart(follower);
    const committed = installSteps.indexOf(crashAt) > installSteps.indexOf('intent');
    const expected = committed ? next : old;
    expect(recovered.action).toBe(committed ? 'completed' : 'none');
    expect(store.appliedIndex()).toBe(expected.index);
    expect(store.checksum()).toBe(expected.checksum);
    expect(rows(store)).toEqual(expected.rows);
    if (committed) expect(lines).toContain(`finished installing the snapshot at index 80 (term 2) that a crash interrupted`);
    // Nothing is left behind but the state and the snapshots.
    expect(readdirSync(snapshotsDir(follower)).filter((name) => name.startsWith('.') || name === 'install.json')).toEqual([]);
    // And a second restart changes nothing.
    nodes.close(store);
    const again = restart(follower);
    expect(again.recovered).toEqual({ action: 'none' });
    expect(again.store.checksum()).toBe(expected.checksum);
  });

  it('refuses a received file that does not match its checksum, and keeps the old state', async () => {
    const { follower, received, saved, old } = await setUp();
    writeFileSync(received, Buffer.concat([Buffer.from('x'), Buffer.alloc(saved.bytes - 1)]));
    expect(() => installSnapshot({ nodeDir: follower, file: received, meta: saved.meta, bytes: saved.bytes, sha256: saved.sha256, fsync: false })).toThrow(/does not match its checksum/);
    expect(existsSync(received)).toBe(false);
    const { store } = restart(follower);
    expect(store.checksum()).toBe(old.checksum);
  });

  it('refuses a file outside the snapshots dir', async () => {
    const { follower, saved } = await setUp();
    expect(() => installSnapshot({ nodeDir: follower, file: saved.path, meta: saved.meta, bytes: saved.bytes, sha256: saved.sha256, fsync: false })).toThrow(SnapshotError);
  });

  it('a damaged intent, or one whose snapshot the disk lost, stops the start loudly', async () => {
    const { follower, received, saved } = await setUp();
    expect(() =>
      installSnapshot({ nodeDir: follower, file: received, meta: saved.meta, bytes: saved.bytes, sha256: saved.sha256, fsync: false, step: (s) => { if (s === 'keep') throw new Crash(); } }),
    ).toThrow(Crash);
    writeFileSync(received, 'lost');
    expect(() => recoverInstall(follower, () => {}, { fsync: false })).toThrow(/neither .* nor state.db holds it/);
    writeFileSync(join(snapshotsDir(follower), 'install.json'), '{"format":"replica-lab snapshot install 1"');
    expect(() => recoverInstall(follower, () => {}, { fsync: false })).toThrow(/install.json is damaged/);
  });
});

describe('restoreSnapshot', () => {
  it('puts the node own snapshot back as its state, to replay the log after it', async () => {
    const dir = nodes.dir();
    const store = nodes.open(dir);
    store.applyBatch(rowEntries(1, 20));
    const atTwenty = { checksum: store.checksum(), rows: rows(store) };
    const { saved } = await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt });
    store.applyBatch(rowEntries(21, 30));
    nodes.close(store);
    const restored = restoreSnapshot({ nodeDir: dir, snapshot: saved, fsync: false });
    expect(restored.bytes).toBe(saved.bytes);
    const { store: again, opened } = restart(dir);
    expect(again.appliedIndex()).toBe(20);
    expect(again.checksum()).toBe(atTwenty.checksum);
    expect(rows(again)).toEqual(atTwenty.rows);
    expect(opened.snapshots.map((s) => s.sha256)).toEqual([saved.sha256]);
    again.applyBatch(rowEntries(21, 30));
    expect(again.appliedIndex()).toBe(30);
  });
});

describe('alignLog', () => {
  function walWith(count: number, term: number) {
    const dir = nodes.dir();
    const { wal } = openWal({ dir, fsync: false, segmentBytesMax: 1000 });
    const entries = makeEntries({ specs: Array.from({ length: count }, () => ({ term })) });
    wal.write(1, entries);
    return { wal, entries };
  }
  const metaOf = (index: number, term: number, lsn: number): SnapshotMeta => ({ index, term, lsn, membership: { voters: ['n1'], learners: [] } });

  it('keeps a log that matches the snapshot, compacted below it', async () => {
    const { wal, entries } = walWith(100, 3);
    expect(alignLog(wal, metaOf(60, 3, entries[59]!.lsn), { retainEntries: 0, retainBytes: Number.POSITIVE_INFINITY })).toBe('kept');
    expect(wal.lastIndex()).toBe(100);
    expect(wal.firstIndex()).toBeGreaterThan(1);
    expect(wal.firstIndex()).toBeLessThanOrEqual(60);
    await wal.close();
  });

  it('discards a log that does not match, or is shorter, and begins after the snapshot', async () => {
    for (const meta of [metaOf(60, 4, 99_999), metaOf(500, 3, 99_999)]) {
      const { wal } = walWith(100, 3);
      expect(alignLog(wal, meta, { retainEntries: 0, retainBytes: Number.POSITIVE_INFINITY })).toBe('restarted');
      expect([wal.firstIndex(), wal.lastIndex(), wal.lastTerm()]).toEqual([meta.index + 1, meta.index, meta.term]);
      await wal.close();
    }
  });
});
