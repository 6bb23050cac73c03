// Every lab, in the order `replica-lab labs` lists them (roughly easiest first).

import { figure8Lab, type ReplayLab } from '../replay/figure-8.js';
import { engineNames, type EngineKind } from '../../cluster/engine.js';
import type { AnyLab, LabEntry } from '../types.js';
import { ackLevels } from './ack-levels.js';
import { asyncLostWrites } from './async-lost-writes.js';
import { firstSteps } from './first-steps.js';
import { lagAnomalies } from './lag-anomalies.js';
import { lagCauses } from './lag-causes.js';
import { membership } from './membership.js';
import { partition } from './partition.js';
import { pgSyncCancel } from './pg-sync-cancel.js';
import { quorumCommit } from './quorum-commit.js';
import { raftElection } from './raft-election.js';
import { snapshotCatchUp } from './snapshot-catch-up.js';
import { splitBrain } from './split-brain.js';
import { statementDivergence } from './statement-divergence.js';
import { staleLeader } from './stale-leader.js';
import { syncCost } from './sync-cost.js';

export const labs: readonly AnyLab[] = [firstSteps, asyncLostWrites, syncCost, quorumCommit, raftElection, partition, splitBrain, lagAnomalies, ackLevels, lagCauses, statementDivergence, staleLeader, snapshotCatchUp, membership, pgSyncCancel];

export function findLab(id: string): AnyLab | undefined {
  return labs.find((lab) => lab.id === id);
}

/** Labs that replay a scripted scenario in the simulator instead of running a cluster. */
export const replayLabs: readonly ReplayLab[] = [figure8Lab];

export function findReplayLab(id: string): ReplayLab | undefined {
  return replayLabs.find((lab) => lab.id === id);
}

/** Every lab, as `replica-lab labs` lists them: the cluster labs, then the replays. */
export const catalog: readonly (AnyLab | ReplayLab)[] = [...labs, ...replayLabs];

export const labIds: readonly string[] = catalog.map((lab) => lab.id);

/** The engines a lab runs on: what it declares, or the replica-lab engine alone. */
export function labEngines(lab: Pick<LabEntry, 'engines'>): readonly EngineKind[] {
  return lab.engines ?? ['replica-lab'];
}

/**
 * The lab as it runs on `engine`: its variant for that engine (Lab.variants)
 * when it has one, else the lab itself. Call after labEngineRefusal.
 */
export function labOn<L extends AnyLab>(lab: L, engine: EngineKind): L {
  const variant = engine === 'replica-lab' ? undefined : lab.variants?.[engine];
  if (variant === undefined) return lab;
  return { ...lab, ...variant, title: variant.title ?? lab.title, summary: variant.summary ?? lab.summary, minutes: variant.minutes ?? lab.minutes };
}

/** Every lab offered on `engine`, in catalog order. */
export function labsOn(engine: EngineKind): readonly (AnyLab | ReplayLab)[] {
  return catalog.filter((lab) => labEngines(lab).includes(engine));
}

/** One line when `lab` is not offered on `engine` (which engines it runs on, and which labs do run there); null when it is. */
export function labEngineRefusal(lab: Pick<LabEntry, 'id' | 'engines'>, engine: EngineKind): string | null {
  const engines = labEngines(lab);
  if (engines.includes(engine)) return null;
  const there = labsOn(engine).map((other) => other.id);
  return `lab ${lab.id} does not run on the ${engineNames[engine]} engine (it runs on ${engines.map((kind) => engineNames[kind]).join(' and ')}); ${
    there.length === 0 ? `no lab runs on ${engineNames[engine]} in this version` : `the labs on ${engineNames[engine]}: ${there.join(', ')}`
  }`;
}
