// The package's main entry: `import { Cluster } from 'replica-lab'`.
export * from './supervisor/index.js';
export { engineKinds, engineNames, postgresCluster, raftCapabilities, postgresCapabilities, engineCapabilities, type EngineCapabilities, type EngineKind, type EngineWorkload, type ReplicationEngine } from './engine.js';
export { clockRateMax, clockRateMin } from './protocol.js';
export type { Consistency, HostEvent, NodeEvent, NodeFaults, NodeTelemetry, Param, ReplicationSettings, RolledBackWrite } from './protocol.js';
export type { AckLevel, CoreEvent, Failover, NodeId, ReplicationMode, Role, SyncFallback } from './core/index.js';
export * as core from './core/index.js';
export * as sim from './sim/index.js';
export * as check from './check/index.js';
