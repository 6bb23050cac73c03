// Reads and writes as a client sends them: straight to a node's socket, to the
// leader unless a node is named, following NotLeader hints and waiting for an
// election until the deadline, and never sending a write twice once it may
// have reached a log. The Cluster API and the workload's thread both use it.

import type { NodeId, WriteReplication } from '../core/index.js';
import type { Consistency, ErrorPayload, Param } from '../protocol.js';
import { errorPayload } from '../protocol.js';
import type { NodeClient, ReplyBody } from '../wire/client.js';
import { clientIdProblem, requestIdProblem, statementLimitProblem } from '../limits.js';
import { paramsMax } from '../store/constants.js';
import { BadRequestError, BadStatementError, toClusterError, UnavailableError } from './errors.js';
import type { LeaderWatch } from './leader-watch.js';
import { executeResult, queryResult } from './replies.js';

export interface ExecuteOptions {
  /** Send to this node; default: whichever node leads (following NotLeader hints). */
  readonly node?: NodeId;
  readonly mode?: WriteReplication['mode'];
  readonly ackLevel?: WriteReplication['ackLevel'];
  readonly quorum?: number;
  readonly timeoutMs?: number;
  /**
   * PostgreSQL: at the deadline, cancel the statement on the server
   * (pg_cancel_backend), as psql's Ctrl-C or a statement_timeout would. A
   * commit waiting for its standbys then stays committed on the primary alone
   * and becomes visible there. Without it (the default) the client gives up
   * and the server goes on waiting, as on replica-lab, where a client's
   * deadline never stops a write. replica-lab has nothing to cancel and
   * ignores it.
   */
  readonly cancelAtDeadline?: boolean;
  readonly client?: string;
  readonly request?: number;
}

export interface ExecuteResult {
  readonly index: number;
  readonly term: number;
  readonly leader: NodeId;
  readonly latencyMs: number;
}

export interface QueryOptions {
  readonly node?: NodeId;
  readonly consistency?: Consistency;
  /** Wait until the node has applied this index (read-your-writes). */
  readonly minIndex?: number;
  readonly timeoutMs?: number;
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** One object per row, keyed by column name. */
  readonly rows: readonly Record<string, unknown>[];
  readonly truncated: boolean;
  readonly node: NodeId;
  /** The node's applied index when it read. */
  readonly index: number;
  readonly latencyMs: number;
  /** A `lease` read the leader served on its lease, without a round trip (absent: it confirmed by ReadIndex, or another consistency). */
  readonly lease?: true;
}

export interface RequestsPort {
  /** The connection to a running node; null when it is down. */
  client(id: NodeId): NodeClient | null;
  readonly leader: LeaderWatch;
  /** Called with every acknowledged write (lost-write detection keeps them). */
  acknowledged(index: number, term: number): void;
}

export const requestTimeoutMsDefault = 5_000;
/** The longest deadline a request may ask for: an hour (longer would overflow a timer, and no read or write should wait that long). */
export const requestTimeoutMsMax = 3_600_000;

const consistencies: readonly Consistency[] = ['local', 'linearizable', 'lease'];

export class Requests {
  constructor(private readonly port: RequestsPort) {}

  /** A write. Without `node` it goes to the leader, following NotLeader hints, until `timeoutMs`. */
  async execute(sql: string, params: readonly Param[], options: ExecuteOptions, replication: WriteReplication | null): Promise<ExecuteResult> {
    const timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault;
    const started = performance.now();
    const deadline = started + timeoutMs;
    const { leader } = this.port;
    let target = options.node ?? leader.get();
    for (;;) {
      if (target === null) target = await leader.elected(deadline);
      if (target === null) throw new UnavailableError(`no leader was elected within ${timeoutMs} ms; is a majority of nodes up and connected?`, null, 'no-leader');
      const message = { type: 'execute', sql, params, replication, client: options.client ?? null, request: options.request ?? null } as const;
      const reply = await this.send(target, message, Math.max(1, deadline - performance.now()));
      if (reply.ok) {
        const result = executeResult(reply.result);
        if (result === null) throw toClusterError(malformed(target), target);
        this.port.acknowledged(result.index, result.term);
        return { index: result.index, term: result.term, leader: target, latencyMs: performance.now() - started };
      }
      const error = reply.error!;
      const retry = options.node === undefined && performance.now() < deadline && error.index === null;
      if (retry && error.reason === 'not-leader') {
        // Follow the hint; without one, wait for the next leader.
        const hinted: NodeId | null = error.leader !== null && error.leader !== target ? error.leader : null;
        const old = target;
        target = hinted ?? (await leader.until((next) => next !== null && next !== old, Math.min(deadline, performance.now() + 50)));
        continue;
      }
      if (retry && (error.reason === 'down' || error.reason === 'busy' || error.reason === 'transfer-in-progress' || error.reason === 'leadership-lost')) {
        const old = target;
        await leader.until((next) => next !== null && next !== old, Math.min(deadline, performance.now() + 50));
        target = leader.get();
        continue;
      }
      throw toClusterError(error, target);
    }
  }

  /** A read: `local` on the chosen node (default the leader), `linearizable` through the leader's ReadIndex, `lease` on its lease. */
  async query(sql: string, params: readonly Param[], options: QueryOptions): Promise<QueryResult> {
    const consistency = options.consistency ?? 'local';
    const timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault;
    const started = performance.now();
    const deadline = started + timeoutMs;
    let target = options.node ?? null;
    for (;;) {
      if (target === null) target = await this.port.leader.elected(deadline);
      if (target === null) throw new UnavailableError(`no leader was elected within ${timeoutMs} ms to serve the read`, null, 'no-leader');
      const reply = await this.send(
        target,
        { type: 'query', sql, params, consistency, minIndex: options.minIndex ?? 0, timeoutMs: Math.max(1, Math.round(deadline - performance.now())) },
        Math.max(1, deadline - performance.now() + 50),
      );
      if (reply.ok) {
        const result = queryResult(reply.result);
        if (result === null) throw toClusterError(malformed(target), target);
        const rows = result.rows.map((values) => Object.fromEntries(result.columns.map((column, i) => [column, values[i]])));
        const answer = { columns: result.columns, rows, truncated: result.truncated, index: result.index, node: target, latencyMs: performance.now() - started };
        return reply.result?.['lease'] === true ? { ...answer, lease: true } : answer;
      }
      const error = reply.error!;
      if (error.reason === 'not-leader' && options.node === undefined && performance.now() < deadline) {
        target = error.leader !== target ? error.leader : null;
        continue;
      }
      throw toClusterError(error, target);
    }
  }

  private send(target: NodeId, message: Parameters<NodeClient['request']>[0], timeoutMs: number): Promise<ReplyBody> {
    const client = this.port.client(target);
    if (client === null) return Promise.resolve({ ok: false, result: null, error: errorPayload('down', `${target} is down`) });
    return client.request(message, timeoutMs);
  }
}

/** Checks a statement's parameters before anything is sent. */
export function checkParams(params: readonly Param[]): void {
  if (!Array.isArray(params)) throw new BadStatementError('params must be an array');
  params.forEach((param, i) => {
    const ok = param === null || typeof param === 'string' || (typeof param === 'number' && Number.isFinite(param));
    if (!ok) throw new BadStatementError(`parameter ${i + 1} must be a string, a finite number or null, got ${typeof param}`);
  });
}

/**
 * Checks a statement against the limits (cluster/limits.ts) before anything is
 * sent, so an oversized or malformed one fails at once with the node's own
 * words instead of reaching a log or waiting out its deadline.
 */
export function checkStatement(sql: string, params: readonly Param[]): void {
  if (typeof sql !== 'string') throw new BadStatementError(`the statement must be a string of SQL, got ${typeof sql}`);
  checkParams(params);
  if (params.length > paramsMax) throw new BadStatementError(`${params.length} parameters is more than the ${paramsMax} one statement may take`);
  const problem = statementLimitProblem(sql, params);
  if (problem !== null) throw new BadStatementError(problem);
}

/** A `timeoutMs` option: absent, or a number of milliseconds from 1 to requestTimeoutMsMax; a BadRequestError otherwise. */
export function checkTimeoutMs(timeoutMs: unknown, what = 'timeoutMs'): void {
  if (timeoutMs === undefined) return;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > requestTimeoutMsMax) {
    throw new BadRequestError(`${what} must be a number of milliseconds from 1 to ${requestTimeoutMsMax}, got ${describe(timeoutMs)}`);
  }
}

/** An options argument: absent or a plain object. */
function checkOptionsObject(options: unknown, what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new BadRequestError(`${what} options must be an object, got ${describe(options)}`);
}

/**
 * Checks a write's options that the replication check (settings.ts) does not
 * cover, before anything is sent: the deadline, and the client and request ids.
 */
export function checkExecuteOptions(options: ExecuteOptions): void {
  checkOptionsObject(options, 'execute');
  checkTimeoutMs(options.timeoutMs);
  checkWriteIds(options);
}

/** Checks a read's options before anything is sent: consistency, minIndex and the deadline. */
export function checkQueryOptions(options: QueryOptions): void {
  checkOptionsObject(options, 'query');
  if (options.consistency !== undefined && !consistencies.includes(options.consistency)) {
    throw new BadRequestError(`consistency must be ${consistencies.join(', ')}, got ${describe(options.consistency)}`);
  }
  if (options.minIndex !== undefined && !(Number.isSafeInteger(options.minIndex) && options.minIndex >= 0)) {
    throw new BadRequestError(`minIndex must be a whole number from 0 (a log index), got ${describe(options.minIndex)}`);
  }
  checkTimeoutMs(options.timeoutMs);
}

/** A value as an error message shows it: NaN as NaN, a string quoted, an object as its type. */
export function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || value === undefined) return String(value);
  return typeof value;
}

/** Checks a write's client and request ids: a BadRequestError names the limit. */
export function checkWriteIds(options: ExecuteOptions): void {
  if (options.client !== undefined) {
    if (typeof options.client !== 'string') throw new BadRequestError(`the client id must be a string, got ${typeof options.client}`);
    const problem = clientIdProblem(options.client);
    if (problem !== null) throw new BadRequestError(problem);
  }
  if (options.request !== undefined) {
    const problem = requestIdProblem(options.request);
    if (problem !== null) throw new BadRequestError(problem);
  }
}

function malformed(node: NodeId): ErrorPayload {
  return errorPayload('malformed-reply', `${node} sent a reply that does not parse`);
}
