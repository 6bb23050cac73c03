// The built-in clients as the Cluster API offers them (cluster.workload): the
// clients, their online checker and the history writer run in a worker thread
// (workload-worker.ts) with an event loop of their own, connected straight to
// the nodes' sockets, so a busy or blocked caller (the dashboard rendering a
// frame) never delays an operation. This side keeps the options, forwards
// leadership and events, and mirrors the figures the worker reports.

import { closeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { isHistoryStart, type HistoryRecord } from '../check/records.js';
import type { NodeId } from '../core/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { historyRingMax } from './constants.js';
import { BadRequestError } from './errors.js';
import { openForAppend, openForReplace } from './files.js';
import { historyWhat } from './history.js';
import { Ring } from './ring.js';
import { compiledScript } from './spawn.js';
import type { ClusterEvent } from './types.js';
import { historyPathOf, type WorkloadStats } from './workload-engine.js';
import { checkWorkload, defaultWorkload, type WorkloadOptions } from './workload-options.js';
import type { FromWorker, ToWorker, Topology, WorkerSetup } from './workload-worker.js';

export { workloadWriteSql, type WorkloadStats } from './workload-engine.js';
export { checkWorkload, defaultWorkload, type ReadTarget, type SessionGuarantee, type WorkloadOptions } from './workload-options.js';
export { classifyWriteError } from './errors.js';

/** What the workload needs of its cluster on this side. */
export interface WorkloadHost {
  readonly ids: readonly NodeId[];
  readonly dataDir: string;
  leader(): NodeId | null;
  topology(): Topology;
  replicationSettings(): ReplicationSettings;
  on(name: 'event', listener: (event: ClusterEvent) => void): unknown;
  /** Writes the workload's clients had acknowledged (for lost-write detection), flat: [index, term, index, term, ...]. */
  noteAcknowledged(positions: readonly number[]): void;
}

/** Events the history records as context; the rest never crosses to the worker. */
const forwardedEvents = new Set(['fault', 'node-started', 'node-exited', 'replication-set', 'membership', 'writes-lost', 'leader-elected']);

const idleStats = (options: WorkloadOptions): WorkloadStats => ({
  running: false,
  options,
  writes: { ok: 0, fail: 0, info: 0 },
  reads: { ok: 0, fail: 0 },
  writesPerSecond: 0,
  readsPerSecond: 0,
  writeLatencyMsP50: null,
  skipped: 0,
  inflight: 0,
  consistency: { reads: { ok: 0, fail: 0 }, writes: { ok: 0, fail: 0, info: 0 }, staleReads: 0, readYourWrites: 0, monotonicReads: 0 },
  history: null,
});

export class Workload {
  private options: WorkloadOptions = defaultWorkload;
  private running = false;
  private worker: Worker | null = null;
  private reported: WorkloadStats = idleStats(defaultWorkload);
  private readonly ring = new Ring<HistoryRecord>(historyRingMax);
  private historyPath: string | null = null;
  private nextStop = 1;
  private readonly stops = new Map<number, () => void>();
  private lastTopology = '';
  private closed = false;

  constructor(
    private readonly host: WorkloadHost,
    private readonly sockets: { readonly socketDir: string; readonly secret: string },
  ) {
    host.on('event', (event) => {
      if (this.worker !== null && forwardedEvents.has(event.event.type)) this.post({ type: 'event', event });
    });
  }

  /** Starts the clients (or changes the options of running ones). Throws BadRequestError for a bad option or history path. */
  start(options: Partial<WorkloadOptions> = {}): void {
    if (this.closed) throw new BadRequestError('the cluster has been stopped');
    const next = checkWorkload({ ...this.options, ...options }, this.host.ids);
    if (!this.running) this.openHistory(next);
    this.options = next;
    this.ensureWorker();
    this.running = true;
    this.post({ type: 'start', options });
  }

  /** Changes options while running (seed and history take effect at the next start). */
  update(options: Partial<WorkloadOptions>): WorkloadOptions {
    this.options = checkWorkload({ ...this.options, ...options }, this.host.ids);
    if (this.worker !== null) this.post({ type: 'update', options });
    return this.options;
  }

  /**
   * Starts no more operations; resolves once those in flight have completed
   * and the history is on disk. Safe to call twice, and safe not to await.
   */
  stop(): Promise<void> {
    this.running = false;
    if (this.worker === null) return Promise.resolve();
    const id = this.nextStop++;
    return new Promise((resolve) => {
      this.stops.set(id, resolve);
      this.post({ type: 'stop', id });
    });
  }

  stats(): WorkloadStats {
    return { ...this.reported, running: this.running, options: this.options };
  }

  /** The last history records (bounded), oldest first: the TUI's view of what clients did. */
  recent(): HistoryRecord[] {
    return this.ring.toArray();
  }

  /** Where the current (or last) history is written; null when not recording. */
  historyFile(): string | null {
    return this.historyPath;
  }

  /** Leadership or running nodes may have changed (the supervisor calls this): the clients route by it. */
  topologyChanged(): void {
    if (this.worker === null) return;
    const leader = this.host.leader();
    const topology = this.host.topology();
    const key = `${leader ?? ''}|${topology.up.join(',')}|${topology.reachable.join(',')}`;
    if (key === this.lastTopology) return;
    this.lastTopology = key;
    this.post({ type: 'topology', leader, topology });
  }

  replicationChanged(replication: ReplicationSettings): void {
    if (this.worker !== null) this.post({ type: 'replication', replication });
  }

  /** Stops the clients and ends the thread (the cluster is stopping). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    for (const resolve of this.stops.values()) resolve();
    this.stops.clear();
    if (worker !== null) await worker.terminate();
  }

  /**
   * A new history is created here, synchronously, so a bad path is an error
   * of start() itself; the worker then appends to it.
   */
  private openHistory(options: WorkloadOptions): void {
    if (options.history === false) {
      this.historyPath = null;
      return;
    }
    const path = historyPathOf(options.history, this.host.dataDir);
    const append = this.historyPath === path;
    try {
      // A new history replaces only a history (its first line a `run` record) or an empty file:
      // never a file of the user's, never through a symbolic link.
      closeSync(append ? openForAppend(path) : openForReplace(path, historyWhat, isHistoryStart));
    } catch (error) {
      if (error instanceof BadRequestError) throw error;
      throw new BadRequestError(`cannot write the history to ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.historyPath = path;
  }

  private ensureWorker(): void {
    if (this.worker !== null) return;
    const setup: WorkerSetup = {
      ids: this.host.ids,
      dataDir: this.host.dataDir,
      socketDir: this.sockets.socketDir,
      secret: this.sockets.secret,
      timeOrigin: performance.timeOrigin,
      leader: this.host.leader(),
      topology: this.host.topology(),
      replication: this.host.replicationSettings(),
    };
    const worker = new Worker(compiledScript('./workload-worker.js'), { workerData: setup });
    worker.on('message', (message: FromWorker) => this.onWorkerMessage(message));
    worker.on('error', (error) => {
      process.stderr.write(`replica-lab: the workload's thread failed: ${error.stack ?? error.message}\n`);
      this.running = false;
      for (const resolve of this.stops.values()) resolve();
      this.stops.clear();
      this.worker = null;
    });
    this.worker = worker;
  }

  private onWorkerMessage(message: FromWorker): void {
    switch (message.type) {
      case 'report':
        this.reported = message.stats;
        for (const record of message.records) this.ring.push(record);
        if (message.acknowledged.length > 0) this.host.noteAcknowledged(message.acknowledged);
        return;
      case 'stopped': {
        const resolve = this.stops.get(message.id);
        this.stops.delete(message.id);
        resolve?.();
        return;
      }
    }
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }
}
