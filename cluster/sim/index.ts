// The simulator's public surface: the CLI's `sim` command and the tests use it.
export { Simulation, type SimulationOptions, type WriteRecord, type ReadRecord, type ReadKind, type LostWrite } from './simulation.js';
export { SafetyChecker, invariants, type Invariant, type Violation } from './checker.js';
export { SimNetwork, type LinkSettings } from './network.js';
export { runSeed, runSeeds, replayCommand, faultKinds, allFaultKinds, unsafeSwitches, type ReadCounts, type UnsafeSwitch, type FaultKind, type SeedRunOptions, type SeedResult, type SimReport } from './run.js';
