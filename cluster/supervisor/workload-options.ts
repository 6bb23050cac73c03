// The options of the built-in clients, their defaults, and the check that
// turns a malformed option into a BadRequestError a person can act on.

import type { NodeId } from '../core/index.js';
import type { Consistency } from '../protocol.js';
import { clientsMax, keysMax, rateMax, valueBytesMax } from './constants.js';
import { BadRequestError } from './errors.js';
import { requestTimeoutMsMax } from './requests.js';

export type ReadTarget = 'leader' | 'follower' | 'any' | NodeId;

/**
 * What a session carries into its reads:
 * - `none`: nothing; a follower read shows whatever that follower has applied.
 * - `read-your-writes`: `minIndex` = the index of the session's last acknowledged write.
 * - `causal`: `minIndex` = the highest of that and every applied index its reads observed,
 *   which also makes its reads monotonic across nodes (MongoDB's causally consistent sessions).
 */
export type SessionGuarantee = 'none' | 'read-your-writes' | 'causal';

export interface WorkloadOptions {
  /** Operations per second, reads and writes together (open loop); null for a closed loop. */
  readonly rate: number | null;
  /** Clients, each one session with at most one operation in flight. */
  readonly concurrency: number;
  /** Fraction of operations that are reads, 0 to 1. */
  readonly readFraction: number;
  readonly keys: number;
  readonly valueBytes: number;
  /** Where local reads go: the leader, a follower, any node, or one node by id. Linearizable reads always go to the leader. */
  readonly readTarget: ReadTarget;
  readonly readConsistency: Consistency;
  readonly sessions: SessionGuarantee;
  /** Each session reads from the same node while that node is up and running, for monotonic reads. */
  readonly stickyReads: boolean;
  readonly timeoutMs: number;
  /** Seeds every choice the workload makes (key, read or write, node); null picks one. Read at start. */
  readonly seed: number | null;
  /** Record the history: true for <dataDir>/history.jsonl, a path, or false. Read at start. */
  readonly history: boolean | string;
}

export const defaultWorkload: WorkloadOptions = {
  rate: 20,
  concurrency: 16,
  readFraction: 0.5,
  keys: 100,
  valueBytes: 16,
  readTarget: 'any',
  readConsistency: 'local',
  sessions: 'none',
  stickyReads: false,
  timeoutMs: 2_000,
  seed: null,
  history: true,
};

/** Throws BadRequestError listing every option out of range; `nodes`, when given, bounds a node-id read target. */
export function checkWorkload(options: WorkloadOptions, nodes?: readonly NodeId[]): WorkloadOptions {
  const problems: string[] = [];
  if (!(options.rate === null || (typeof options.rate === 'number' && options.rate >= 0 && options.rate <= rateMax))) problems.push(`rate from 0 to ${rateMax} operations/s, or null for a closed loop`);
  if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1 && options.concurrency <= clientsMax)) problems.push(`concurrency from 1 to ${clientsMax}`);
  if (!(options.readFraction >= 0 && options.readFraction <= 1)) problems.push('readFraction from 0 to 1');
  if (!(Number.isInteger(options.keys) && options.keys >= 1 && options.keys <= keysMax)) problems.push(`keys from 1 to ${keysMax}`);
  if (!(Number.isInteger(options.valueBytes) && options.valueBytes >= 1 && options.valueBytes <= valueBytesMax)) problems.push(`valueBytes from 1 to ${valueBytesMax}`);
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs >= 1 && options.timeoutMs <= requestTimeoutMsMax)) problems.push(`timeoutMs from 1 to ${requestTimeoutMsMax}`);
  const namedNode = !['leader', 'follower', 'any'].includes(options.readTarget);
  if (namedNode && !/^n[1-9][0-9]?$/.test(options.readTarget)) problems.push("readTarget 'leader' | 'follower' | 'any' | a node id");
  else if (namedNode && nodes !== undefined && !nodes.includes(options.readTarget)) problems.push(`readTarget one of ${nodes.join(', ')}`);
  if (!['local', 'linearizable', 'lease'].includes(options.readConsistency)) problems.push("readConsistency 'local' | 'linearizable' | 'lease'");
  if (!['none', 'read-your-writes', 'causal'].includes(options.sessions)) problems.push("sessions 'none' | 'read-your-writes' | 'causal'");
  if (typeof options.stickyReads !== 'boolean') problems.push('stickyReads true or false');
  if (!(options.seed === null || Number.isSafeInteger(options.seed))) problems.push('seed a whole number or null');
  if (!(typeof options.history === 'boolean' || (typeof options.history === 'string' && options.history.length > 0))) problems.push('history true, false or a file path');
  if (problems.length > 0) throw new BadRequestError(`bad workload: expected ${problems.join(', ')}`);
  return options;
}
