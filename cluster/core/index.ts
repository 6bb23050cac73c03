// The consensus core's public surface: hosts (the node process, the simulator)
// and tests import from here.
export * from './types.js';
export { RaftCore, CoreConfigError, timingProblem, type Proposal } from './raft.js';
export { RaftLog, entryBytes, utf8Length, type LogStorage } from './log.js';
export { LogPositions } from './log-positions.js';
export { applyChange, ConfigHistory, membersMax, votersChanged, voterMajority } from './membership.js';
export { Prng, mixSeed } from './prng.js';
export { majority, quorumIndex, replicationProblem } from './quorum.js';
export * as limits from './constants.js';
