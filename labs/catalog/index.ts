// Every lab, in the order `replica-lab labs` lists them (roughly easiest first).

import type { AnyLab } from '../types.js';
import { ackLevels } from './ack-levels.js';
import { asyncLostWrites } from './async-lost-writes.js';
import { firstSteps } from './first-steps.js';
import { lagAnomalies } from './lag-anomalies.js';
import { partition } from './partition.js';
import { quorumCommit } from './quorum-commit.js';
import { raftElection } from './raft-election.js';
import { splitBrain } from './split-brain.js';
import { staleLeader } from './stale-leader.js';
import { syncCost } from './sync-cost.js';

export const labs: readonly AnyLab[] = [firstSteps, asyncLostWrites, syncCost, quorumCommit, raftElection, partition, splitBrain, lagAnomalies, ackLevels, staleLeader];

export function findLab(id: string): AnyLab | undefined {
  return labs.find((lab) => lab.id === id);
}

export const labIds: readonly string[] = labs.map((lab) => lab.id);
