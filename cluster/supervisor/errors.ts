// The errors a user of the Cluster API can cause or meet, as typed classes
// with messages a person can act on. Bugs stay assertions elsewhere.

import type { NodeId } from '../core/index.js';

export type ClusterErrorKind = 'not-leader' | 'timeout' | 'unavailable' | 'bad-statement' | 'bad-request';

export class ClusterError extends Error {
  override name = 'ClusterError';
  constructor(
    readonly kind: ClusterErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** A write or linearizable read reached a node that does not lead; `leader` names who does, if known. */
export class NotLeaderError extends ClusterError {
  override name = 'NotLeaderError';
  constructor(
    message: string,
    readonly node: NodeId,
    readonly leader: NodeId | null,
  ) {
    super('not-leader', message);
  }
}

/** No answer in time. For a write this is indeterminate: it may still commit. */
export class TimeoutError extends ClusterError {
  override name = 'TimeoutError';
  constructor(
    message: string,
    readonly index: number | null = null,
  ) {
    super('timeout', message);
  }
}

/** The cluster cannot serve this now (no leader, node down, leader stepped down mid-write). */
export class UnavailableError extends ClusterError {
  override name = 'UnavailableError';
  constructor(
    message: string,
    /** Set when the write reached a log before the failure: it may or may not commit. */
    readonly index: number | null = null,
  ) {
    super('unavailable', message);
  }
}

/** The SQL was refused (syntax, non-determinism, a constraint that failed on every node). */
export class BadStatementError extends ClusterError {
  override name = 'BadStatementError';
  constructor(
    message: string,
    readonly index: number | null = null,
  ) {
    super('bad-statement', message);
  }
}

/** A malformed option, node id or fault: nothing was done. */
export class BadRequestError extends ClusterError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super('bad-request', message);
  }
}
