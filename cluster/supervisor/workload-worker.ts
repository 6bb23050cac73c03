// The workload's thread: the built-in clients, their online checker and the
// history writer on an event loop of their own, talking to the nodes over
// their sockets. The supervisor's thread tells it who leads, which nodes run,
// and the events the history records; it reports figures, the newest history
// records and the writes it had acknowledged, every reportMs.

import { parentPort, workerData } from 'node:worker_threads';
import type { HistoryRecord } from '../check/records.js';
import type { NodeId } from '../core/index.js';
import { socketPath } from '../node/peers.js';
import type { ReplicationSettings } from '../protocol.js';
import { NodeClient } from '../wire/client.js';
import { historyRingMax } from './constants.js';
import { LeaderWatch } from './leader-watch.js';
import { checkStatement, Requests } from './requests.js';
import type { ClusterEvent } from './types.js';
import { WorkloadEngine, type WorkloadStats } from './workload-engine.js';
import type { WorkloadOptions } from './workload-options.js';

export interface WorkerSetup {
  readonly ids: readonly NodeId[];
  readonly dataDir: string;
  readonly socketDir: string;
  readonly secret: string;
  /** The supervisor thread's performance.timeOrigin: history times are on its clock. */
  readonly timeOrigin: number;
  readonly leader: NodeId | null;
  readonly topology: Topology;
  readonly replication: ReplicationSettings;
}

/** Which nodes run (a request to any other is refused at once), and which of them are not paused (reads are spread over these). */
export interface Topology {
  readonly up: readonly NodeId[];
  readonly reachable: readonly NodeId[];
}

export type ToWorker =
  | { readonly type: 'start'; readonly options: Partial<WorkloadOptions> }
  | { readonly type: 'update'; readonly options: Partial<WorkloadOptions> }
  | { readonly type: 'stop'; readonly id: number }
  | { readonly type: 'topology'; readonly leader: NodeId | null; readonly topology: Topology }
  | { readonly type: 'replication'; readonly replication: ReplicationSettings }
  | { readonly type: 'event'; readonly event: ClusterEvent };

export type FromWorker =
  | { readonly type: 'report'; readonly stats: WorkloadStats; readonly records: readonly HistoryRecord[]; readonly acknowledged: readonly number[] }
  | { readonly type: 'stopped'; readonly id: number };

/** How often figures and new records go to the supervisor's thread. */
const reportMs = 50;
/** Acknowledged writes held for the next report at most; more in one report interval are dropped from lost-write detection. */
const acknowledgedPerReportMax = 100_000;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('workload-worker runs as a worker thread');
  const setup = workerData as WorkerSetup;
  const offset = performance.timeOrigin - setup.timeOrigin;
  const clients = new Map<NodeId, NodeClient>(setup.ids.map((id) => [id, new NodeClient(id, socketPath(setup.socketDir, id), setup.secret)]));
  // A node added later (membership change) gets its client when it first runs; ids are n1..n9, so this stays small.
  const clientOf = (id: NodeId): NodeClient => {
    let client = clients.get(id);
    if (client === undefined) {
      client = new NodeClient(id, socketPath(setup.socketDir, id), setup.secret);
      clients.set(id, client);
    }
    return client;
  };
  const leader = new LeaderWatch();
  leader.set(setup.leader);
  let topology = setup.topology;
  let replication = setup.replication;
  let records: HistoryRecord[] = [];
  /** Index and term of each write acknowledged since the last report, flat: [index, term, index, term, ...]. */
  let acknowledged: number[] = [];
  const requests = new Requests({
    client: (id) => (topology.up.includes(id) ? clientOf(id) : null),
    leader,
    acknowledged: (index, term) => {
      if (acknowledged.length < 2 * acknowledgedPerReportMax) acknowledged.push(index, term);
    },
  });
  const engine = new WorkloadEngine({
    ids: setup.ids,
    dataDir: setup.dataDir,
    leader: () => leader.get(),
    reachableNodes: () => [...topology.reachable],
    replicationSettings: () => replication,
    execute: (sql, params, options) => {
      checkStatement(sql, params);
      return requests.execute(sql, params, options, null);
    },
    query: (sql, params, options) => requests.query(sql, params, options),
    mono: () => performance.now() + offset,
  });
  engine.onRecord = (record) => {
    records.push(record);
    if (records.length > 2 * historyRingMax) records = records.slice(-historyRingMax);
  };

  const report = (): void => {
    const message: FromWorker = { type: 'report', stats: engine.stats(), records: records.slice(-historyRingMax), acknowledged };
    records = [];
    acknowledged = [];
    port.postMessage(message);
  };
  setInterval(report, reportMs);

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'start':
        engine.start(message.options);
        return;
      case 'update':
        engine.update(message.options);
        return;
      case 'stop':
        void engine.stop().then(() => {
          report();
          port.postMessage({ type: 'stopped', id: message.id } satisfies FromWorker);
        });
        return;
      case 'topology':
        topology = message.topology;
        leader.set(message.leader);
        return;
      case 'replication':
        replication = message.replication;
        return;
      case 'event':
        engine.recordEvent(message.event);
        return;
    }
  });
}

main();
