// What the in-process NodeHost tests share: a node config with test timings,
// and a HostIo that goes nowhere (each test overrides what it watches).

import type { NodeConfig } from '../../cluster/node/config.js';
import type { HostIo } from '../../cluster/node/host.js';

/** n2 of three, fsync off, quorum/flushed, Raft failover: change what the test is about. */
export function testNodeConfig(dataDir: string, change: Partial<NodeConfig> = {}): NodeConfig {
  return {
    id: 'n2',
    peers: ['n1', 'n2', 'n3'],
    dataDir,
    tickMs: 10,
    electionTimeoutMs: [100, 200],
    heartbeatMs: 20,
    failover: 'raft',
    fencing: true,
    preVote: false,
    checkQuorum: false,
    replication: { mode: 'quorum', ackLevel: 'flushed', quorum: null, syncStandbys: null, syncTimeoutMs: null, syncFallback: 'block' },
    fsync: false,
    seed: 7,
    telemetryMs: 100,
    socketDir: dataDir,
    secret: 'a-secret-of-sixteen-chars',
    ...change,
  };
}

/** A HostIo whose links, clock and process are inert; `change` sets what the test records. */
export function testHostIo(change: Partial<HostIo> = {}): HostIo {
  return {
    send: () => {},
    sendRaft: () => {},
    sendSnapshotFrame: () => true,
    setLinks: () => {},
    network: () => ({ delivered: 0, dropped: 0, delayed: 0, refused: 0 }),
    nowMs: () => performance.now(),
    wallMs: () => Date.now(),
    rssBytes: () => 0,
    exit: () => {},
    pid: process.pid,
    ...change,
  };
}
