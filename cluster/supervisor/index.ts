// The supervisor's public surface: the Cluster API and its typed errors.
export { Cluster, type ClusterOptions, type ClusterEvent, type ExecuteOptions, type ExecuteResult, type NodeStatus, type Position, type QueryOptions, type QueryResult, type SupervisorEvent } from './cluster.js';
export { BadRequestError, BadStatementError, ClusterError, NotLeaderError, TimeoutError, UnavailableError, type ClusterErrorKind } from './errors.js';
export type { LinkOptions } from './network.js';
export { Workload, defaultWorkload, type WorkloadOptions, type WorkloadStats } from './workload.js';
