// The postgres engine: real PostgreSQL streaming replication behind the engine seam (cluster/engine.ts).
export { PostgresCluster, startPostgresCluster, type FailoverDecision, type PostgresClusterOptions } from './cluster.js';
export { findPgBin, candidateBinDirs, missingPrograms, PostgresNotFoundError, pgPrograms } from './binaries.js';
export { PostgresUserError } from './server.js';
export { checkPgReplication, describePg, toPg, type PgReplication } from './replication.js';
export { numberPlaceholders, translate } from './dialect.js';
export { classifyLogLine, type ServerLogEvent, type ServerLogKind } from './server-log.js';
