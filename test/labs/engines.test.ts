// Which engine each lab runs on (Lab.engines), and the refusals on any other:
// in the catalog, in a lab session and in a nemesis run, before a process
// starts; and a session starts its clusters with the engine's start it is given.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BadRequestError, Cluster, raftCapabilities, runNemesis, type ReplicationEngine } from '../../cluster/index.js';
import { engineRefusal } from '../../cluster/supervisor/nemesis.js';
import { catalog, findLab, labEngineRefusal, labEngines, labOn, labsOn, LabSession, type AnyLab } from '../../labs/index.js';
import { startSession } from './helpers.js';

const noCapabilities = { raft: false, snapshots: false, membership: false, trace: false, nodeFaults: false, clock: false };

describe('the engines a lab runs on', () => {
  it('every lab runs on replica-lab but the PostgreSQL-only ones; a lab with a variant for an engine lists that engine', () => {
    const postgresOnly = ['pg-sync-cancel'];
    for (const lab of catalog) expect(labEngines(lab), lab.id).toEqual(postgresOnly.includes(lab.id) ? ['postgres'] : expect.arrayContaining(['replica-lab']));
    expect(labsOn('replica-lab')).toEqual(catalog.filter((lab) => !postgresOnly.includes(lab.id)));
    for (const lab of catalog) {
      for (const engine of Object.keys((lab as AnyLab).variants ?? {})) expect(labEngines(lab), `${lab.id} has a ${engine} variant`).toContain(engine);
    }
  });

  it('labOn gives the variant for the engine (its setup, steps, debrief; the lab\'s id, title and quiz), else the lab itself', () => {
    const base = findLab('first-steps')!;
    const steps = [base.steps[0]!];
    const debrief = (): string[] => ['on PostgreSQL'];
    const lab: AnyLab = { ...base, engines: ['replica-lab', 'postgres'], variants: { postgres: { setup: { cluster: { nodes: 2 }, workload: null }, steps, debrief } } };
    expect(labOn(lab, 'replica-lab')).toBe(lab);
    const pg = labOn(lab, 'postgres');
    expect(pg).toMatchObject({ id: base.id, title: base.title, quiz: base.quiz, summary: base.summary, minutes: base.minutes, setup: { cluster: { nodes: 2 }, workload: null } });
    expect(pg.steps).toBe(steps);
    expect(pg.debrief({}, { stepsPassed: 1, steps: 1, elapsedMs: 0, writesAcknowledged: 0, lostWrites: 0 })).toEqual(['on PostgreSQL']);
    const plain = { ...base, engines: ['replica-lab', 'postgres'] as const, variants: {} };
    expect(labOn(plain, 'postgres')).toBe(plain);
  });

  it('defaults to replica-lab alone, and takes what a lab declares', () => {
    expect(labEngines({})).toEqual(['replica-lab']);
    expect(labEngines({ engines: ['replica-lab', 'postgres'] })).toEqual(['replica-lab', 'postgres']);
    expect(labEngineRefusal({ id: 'x', engines: ['replica-lab', 'postgres'] }, 'postgres')).toBeNull();
  });

  it('says in one line where a lab runs when asked for another engine', () => {
    expect(labEngineRefusal({ id: 'raft-election' }, 'replica-lab')).toBeNull();
    const onPostgres = labsOn('postgres').map((lab) => lab.id);
    expect(labEngineRefusal({ id: 'raft-election' }, 'postgres')).toBe(
      `lab raft-election does not run on the PostgreSQL engine (it runs on replica-lab); ${onPostgres.length === 0 ? 'no lab runs on PostgreSQL in this version' : `the labs on PostgreSQL: ${onPostgres.join(', ')}`}`,
    );
    expect(labEngineRefusal({ id: 'pg-only', engines: ['postgres'] }, 'replica-lab')).toBe(
      'lab pg-only does not run on the replica-lab engine (it runs on PostgreSQL); the labs on replica-lab: ' + labsOn('replica-lab').map((lab) => lab.id).join(', '),
    );
  });

  it('a lab session on an engine the lab does not run on is refused before any cluster starts', async () => {
    const lab = findLab('raft-election')!;
    await expect(LabSession.start(lab, { mode: 'auto', progress: null, engine: 'postgres' })).rejects.toThrow(new BadRequestError(labEngineRefusal(lab, 'postgres')!));
  });
});

describe('a lab session on the engine it is given', () => {
  it('refuses another engine without that engine\'s start', async () => {
    const lab = { ...findLab('first-steps')!, engines: ['replica-lab', 'postgres'] as const };
    await expect(LabSession.start(lab, { mode: 'auto', progress: null, engine: 'postgres' })).rejects.toThrow("lab first-steps on postgres: give startCluster, the engine's start");
  });

  it('starts each cluster of the run with the start it is given', async () => {
    const starts: unknown[] = [];
    const session = await startSession(findLab('first-steps')!, {
      mode: 'auto',
      progress: null,
      startCluster: (options) => {
        starts.push(options);
        return Cluster.start(options);
      },
    });
    expect(starts).toHaveLength(1);
    expect(session.cluster.engine).toBe('replica-lab');
    expect(session.observe().status).toHaveLength(3);
  });
});

describe('nemesis faults on an engine', () => {
  it('every fault runs on the replica-lab engine', () => {
    expect(engineRefusal({ engine: 'replica-lab', capabilities: raftCapabilities }, ['kill', 'pause', 'partition', 'delay', 'loss', 'disk', 'clock', 'membership'])).toBeNull();
  });

  it('clock, disk and membership need the capabilities another engine may lack; the rest are shared', () => {
    const pg = { engine: 'postgres' as const, capabilities: noCapabilities };
    expect(engineRefusal(pg, ['kill', 'pause', 'partition', 'delay', 'loss'])).toBeNull();
    expect(engineRefusal(pg, ['kill', 'clock'])).toBe('the clock fault needs the replica-lab engine: PostgreSQL has no election timers or leases to slow');
    expect(engineRefusal(pg, ['disk'])).toBe("the disk fault needs the replica-lab engine: PostgreSQL has no way here to slow a server's WAL flush or replay");
    expect(engineRefusal(pg, ['membership'])).toBe('the membership fault needs the replica-lab engine: PostgreSQL has no voting membership to change');
  });

  it('a run with a fault the engine lacks is refused and the engine stopped before any fault', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-lab-nemesis-engine-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    let stopped = 0;
    // Only what runNemesis reads before it refuses; anything else would throw.
    const engine = { engine: 'postgres', capabilities: noCapabilities, stop: async () => void stopped++ } as unknown as ReplicationEngine;
    const options = { nodes: 3, mode: 'quorum', ackLevel: 'flushed', failover: 'manual', faults: ['kill', 'clock'], intervalMs: 100, durationMs: 1_000, seed: 1, dataDir: dir } as const;
    await expect(runNemesis(options, { startCluster: async () => engine })).rejects.toThrow('the clock fault needs the replica-lab engine');
    expect(stopped).toBe(1);
  });
});
