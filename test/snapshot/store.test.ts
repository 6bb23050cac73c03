// Taking and keeping snapshots of a node's state.db: the copy is the state at
// one applied index even while entries keep applying, files follow the data
// dir's rules, the newest two are kept, and damaged or partial files are
// found and removed on open with a line saying why.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSnapshots, SnapshotError, snapshotsDir, takeSnapshot } from '../../cluster/snapshot/index.js';
import { refuseLinksInNodeDir } from '../../cluster/supervisor/files.js';
import { metaAt, rowEntries, rows, useNodeDirs } from './helpers.js';

const nodes = useNodeDirs();

/** A node dir whose state.db has `count` rows applied, store left open. */
function nodeWith(count: number) {
  const dir = nodes.dir();
  const store = nodes.open(dir);
  store.applyBatch(rowEntries(1, count));
  return { dir, store };
}

/** Opens a snapshot's .db as a store of its own (a copy, so the snapshot file stays untouched). */
function openCopy(path: string) {
  const dir = nodes.dir();
  copyFileSync(path, join(dir, 'state.db'));
  return nodes.open(dir);
}

describe('takeSnapshot', () => {
  it('copies the state at the applied index, with its meta and sha256, as private files', async () => {
    const { dir, store } = nodeWith(500);
    const asked: number[] = [];
    const { saved, durationMs } = await takeSnapshot({ nodeDir: dir, fsync: true, metaFor: (index) => (asked.push(index), metaAt(index)) });
    expect(asked).toEqual([500]);
    expect(durationMs).toBeGreaterThan(0);
    expect(saved.meta).toEqual(metaAt(500));
    expect(saved.bytes).toBe(statSync(saved.path).size);
    expect(statSync(snapshotsDir(dir)).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(snapshotsDir(dir))) expect(statSync(join(snapshotsDir(dir), name)).mode & 0o777).toBe(0o600);
    const json = JSON.parse(readFileSync(saved.path.replace(/\.db$/, '.json'), 'utf8'));
    expect(json).toMatchObject({ format: 'replica-lab snapshot 1', meta: metaAt(500), bytes: saved.bytes, sha256: saved.sha256 });
    const copy = openCopy(saved.path);
    expect(copy.appliedIndex()).toBe(500);
    expect(copy.checksum()).toBe(store.checksum());
  });

  it('holds exactly the state of one applied index while entries keep applying during the copy', async () => {
    const { dir, store } = nodeWith(20_000);
    let next = 20_001;
    let applying = true;
    const applyMore = (): void => {
      if (!applying) return;
      store.applyBatch(rowEntries(next, next + 49));
      next += 50;
      setImmediate(applyMore);
    };
    setImmediate(applyMore);
    const { saved } = await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: (index) => metaAt(index) });
    applying = false;
    // Entries did apply while the backup ran, and none of them is in the copy.
    expect(next).toBeGreaterThan(20_001);
    const copy = openCopy(saved.path);
    expect(copy.appliedIndex()).toBe(saved.meta.index);
    expect(copy.query('SELECT count(*), max(idx) FROM kv').rows).toEqual([[saved.meta.index, saved.meta.index]]);
  });

  it('refuses a meta that disagrees with the copied state, and leaves no file', async () => {
    const { dir } = nodeWith(10);
    await expect(takeSnapshot({ nodeDir: dir, fsync: false, metaFor: (index) => metaAt(index, 2) })).rejects.toThrow(SnapshotError);
    expect(readdirSync(snapshotsDir(dir))).toEqual([]);
  });

  it('refuses an empty state and a snapshots dir that is a symbolic link', async () => {
    const empty = nodes.dir();
    nodes.open(empty);
    await expect(takeSnapshot({ nodeDir: empty, fsync: false, metaFor: metaAt })).rejects.toThrow(/nothing is applied/);
    const { dir } = nodeWith(3);
    const elsewhere = nodes.dir();
    symlinkSync(elsewhere, snapshotsDir(dir));
    await expect(takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt })).rejects.toThrow(/symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('keeps the newest two', async () => {
    const { dir, store } = nodeWith(10);
    const taken = [];
    for (let round = 0; round < 3; round++) {
      taken.push((await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt })).saved);
      store.applyBatch(rowEntries(store.appliedIndex() + 1, store.appliedIndex() + 10));
    }
    expect(existsSync(taken[0]!.path)).toBe(false);
    const { snapshots, removed } = openSnapshots(dir, () => {});
    expect(removed).toEqual([]);
    expect(snapshots.map((s) => s.meta.index)).toEqual([30, 20]);
    expect(rows(openCopy(snapshots[0]!.path))).toHaveLength(30);
  });
});

describe('openSnapshots', () => {
  it('removes a damaged newest snapshot with a clear line and falls back to the one before', async () => {
    const { dir, store } = nodeWith(10);
    const older = (await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt })).saved;
    store.applyBatch(rowEntries(11, 20));
    const newer = (await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt })).saved;
    const bytes = readFileSync(newer.path);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    writeFileSync(newer.path, bytes);
    const lines: string[] = [];
    const { snapshots, removed } = openSnapshots(dir, (line) => lines.push(line));
    expect(snapshots).toEqual([older]);
    expect(removed).toEqual(lines);
    expect(lines.some((line) => line.includes(newer.path.replace(/\.db$/, '.json')) && line.includes('does not match its sha256'))).toBe(true);
    expect(existsSync(newer.path)).toBe(false);
  });

  it('removes partial writes, a .db without its .json, a truncated file and a .json that is not one', async () => {
    const { dir } = nodeWith(10);
    const good = (await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt })).saved;
    const snaps = snapshotsDir(dir);
    writeFileSync(join(snaps, '.partial-0123456789ab.db'), 'half');
    writeFileSync(join(snaps, '.receiving-0123456789ab.db'), 'half');
    writeFileSync(join(snaps, '.partial-0123456789ab.db-journal'), 'a backup cut short');
    writeFileSync(join(snaps, 'snapshot-00000000000000000099-1.db'), 'no json');
    writeFileSync(join(snaps, 'snapshot-00000000000000000098-1.json'), 'not json');
    const unrelated = join(snaps, 'notes.txt');
    writeFileSync(unrelated, 'the user wrote this');
    const lines: string[] = [];
    const { snapshots } = openSnapshots(dir, (line) => lines.push(line));
    expect(snapshots).toEqual([good]);
    expect(lines).toHaveLength(5);
    expect(lines.filter((line) => line.includes('a partial write'))).toHaveLength(3);
    expect(lines.join('\n')).toContain('is not JSON');
    expect(lines.join('\n')).toContain('without its .json');
    expect(readdirSync(snaps).sort()).toEqual([...[good.path, good.path.replace(/\.db$/, '.json')].map((p) => p.slice(snaps.length + 1)), 'notes.txt'].sort());
    // Truncated: the size no longer matches.
    writeFileSync(good.path, readFileSync(good.path).subarray(0, 4096));
    const again = openSnapshots(dir, () => {});
    expect(again.snapshots).toEqual([]);
    expect(again.removed[0]).toMatch(/holds 4096 bytes, not \d+: truncated or damaged/);
  });

  it('a symbolic link planted among a node dir snapshots stops the node before it starts', async () => {
    const { dir } = nodeWith(3);
    await takeSnapshot({ nodeDir: dir, fsync: false, metaFor: metaAt });
    expect(() => refuseLinksInNodeDir(dir)).not.toThrow();
    symlinkSync('/etc/passwd', join(snapshotsDir(dir), 'snapshot-00000000000000000009-1.db'));
    expect(() => refuseLinksInNodeDir(dir)).toThrow(/symbolic link/);
  });

  it('refuses a snapshots path that is not a directory', () => {
    const dir = nodes.dir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(snapshotsDir(dir), 'a file');
    expect(() => openSnapshots(dir, () => {})).toThrow();
  });
});
