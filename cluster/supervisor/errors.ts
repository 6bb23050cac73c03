// The errors a user of the Cluster API can cause or meet, as typed classes
// with messages a person can act on, each carrying the typed reason the node
// (or the client connection) gave. Bugs stay assertions elsewhere.

import type { InfoReason } from '../check/records.js';
import type { NodeId } from '../core/index.js';
import type { ErrorPayload, ErrorReason } from '../protocol.js';

export type ClusterErrorKind = 'not-leader' | 'timeout' | 'unavailable' | 'bad-statement' | 'bad-request';

export class ClusterError extends Error {
  override name = 'ClusterError';
  constructor(
    readonly kind: ClusterErrorKind,
    message: string,
    /** Why, as data; null for a BadRequestError (the caller's own mistake, found before anything was sent). */
    readonly reason: ErrorReason | null,
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
    super('not-leader', message, 'not-leader');
  }
}

/** No answer in time. For a write this is indeterminate: it may still commit. */
export class TimeoutError extends ClusterError {
  override name = 'TimeoutError';
  constructor(
    message: string,
    readonly index: number | null = null,
  ) {
    super('timeout', message, 'timeout');
  }
}

/** The cluster cannot serve this now (no leader, node down, leader stepped down mid-write). */
export class UnavailableError extends ClusterError {
  override name = 'UnavailableError';
  constructor(
    message: string,
    /** Set when the write reached a log before the failure: it may or may not commit. */
    readonly index: number | null = null,
    reason: ErrorReason = index === null ? 'refused' : 'stepped-down',
  ) {
    super('unavailable', message, reason);
  }
}

/** The SQL was refused (syntax, non-determinism, a constraint that failed on every node). */
export class BadStatementError extends ClusterError {
  override name = 'BadStatementError';
  constructor(
    message: string,
    readonly index: number | null = null,
  ) {
    super('bad-statement', message, index === null ? 'bad-statement' : 'apply-failed');
  }
}

/** A malformed option, node id or fault: nothing was done. */
export class BadRequestError extends ClusterError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super('bad-request', message, null);
  }
}

/** The typed error for a node's (or a connection's) error reply. */
export function toClusterError(error: ErrorPayload, node: NodeId): ClusterError {
  switch (error.kind) {
    case 'not-leader':
      return new NotLeaderError(error.message, node, error.leader);
    case 'timeout':
      return new TimeoutError(error.message, error.index);
    case 'unavailable':
      return new UnavailableError(error.message, error.index, error.reason);
    case 'bad-statement':
      return new BadStatementError(error.message, error.index);
  }
}

export type WriteErrorVerdict =
  | { readonly kind: 'refused'; readonly retry: boolean; readonly leader: NodeId | null; readonly message: string }
  | { readonly kind: 'indeterminate'; readonly reason: InfoReason; readonly index: number | null; readonly message: string };

/**
 * What one write attempt's error means for the history: a refusal (the write
 * never reached a log, so it may be sent elsewhere or reported as fail) or an
 * indeterminate outcome (info). Decided by the error's typed reason; anything
 * unrecognised is indeterminate, so a doubtful write is never called failed.
 */
export function classifyWriteError(error: unknown): WriteErrorVerdict {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ClusterError)) return { kind: 'indeterminate', reason: 'unknown', index: null, message };
  const index = error instanceof TimeoutError || error instanceof UnavailableError || error instanceof BadStatementError ? error.index : null;
  const refused = (retry: boolean): WriteErrorVerdict => ({ kind: 'refused', retry, leader: error instanceof NotLeaderError ? error.leader : null, message });
  const doubt = (reason: InfoReason): WriteErrorVerdict => ({ kind: 'indeterminate', reason, index, message });
  if (error.reason === null) return refused(false);
  switch (error.reason) {
    case 'not-leader':
    case 'down':
    case 'busy':
    case 'transfer-in-progress':
    case 'leadership-lost':
    case 'change-in-progress':
      return refused(true);
    case 'no-leader':
    case 'stopped':
    case 'bad-statement':
    case 'refused':
      return refused(false);
    case 'timeout':
      return doubt('timeout');
    case 'stepped-down':
      return doubt('stepped-down');
    case 'node-died':
      return doubt('node-died');
    case 'apply-failed':
    case 'read-unavailable':
    case 'malformed-reply':
      return doubt('unknown');
  }
}
