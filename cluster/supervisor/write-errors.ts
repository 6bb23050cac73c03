// What one write attempt's error means for the history: a refusal (the write
// never reached a log, so it may be sent elsewhere or reported as fail) or an
// indeterminate outcome (info). The Cluster API's errors carry `index` when a
// write reached a log; the rest is told apart by the supervisor's messages.

import type { InfoReason } from '../check/records.js';
import type { NodeId } from '../core/index.js';
import { BadRequestError, BadStatementError, ClusterError, NotLeaderError, TimeoutError, UnavailableError } from './errors.js';

export type WriteErrorVerdict =
  | { readonly kind: 'refused'; readonly retry: boolean; readonly leader: NodeId | null; readonly message: string }
  | { readonly kind: 'indeterminate'; readonly reason: InfoReason; readonly index: number | null; readonly message: string };

/** Refusals the node gave before proposing anything: safe to send again elsewhere. */
const retryableRefusal = /is down$|lost leadership|handing leadership over|too many (requests|writes)/;

/**
 * Decides what one write attempt's error means. Only errors that prove the
 * write never reached a log are refusals; anything else, including errors we
 * do not recognise, is indeterminate, so a doubtful write is never called failed.
 */
export function classifyWriteError(error: unknown): WriteErrorVerdict {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NotLeaderError) return { kind: 'refused', retry: true, leader: error.leader, message };
  if (error instanceof TimeoutError) return { kind: 'indeterminate', reason: 'timeout', index: error.index, message };
  if (error instanceof UnavailableError) {
    if (error.index !== null) return { kind: 'indeterminate', reason: 'stepped-down', index: error.index, message };
    if (retryableRefusal.test(message)) return { kind: 'refused', retry: true, leader: null, message };
    if (/has been stopped/.test(message)) return { kind: 'refused', retry: false, leader: null, message };
    if (/exited before answering/.test(message)) return { kind: 'indeterminate', reason: 'node-died', index: null, message };
    return { kind: 'indeterminate', reason: 'unknown', index: null, message };
  }
  if (error instanceof BadStatementError) {
    return error.index === null ? { kind: 'refused', retry: false, leader: null, message } : { kind: 'indeterminate', reason: 'unknown', index: error.index, message };
  }
  if (error instanceof BadRequestError || error instanceof ClusterError) return { kind: 'refused', retry: false, leader: null, message };
  return { kind: 'indeterminate', reason: 'unknown', index: null, message };
}
