// The node process: one RaftCore over its WAL and SQLite state, driven by a
// tick timer, by Raft messages from its peers' direct connections, by client
// requests on its socket, and by control messages from the supervisor over
// the IPC channel. It opens no TCP or UDP port (only its Unix domain socket)
// and exits by itself when the channel to its parent closes.

import { mixSeed, Prng } from '../core/index.js';
import { NodeHost, type HostIo, type RollbackStep } from './host.js';
import { corruptExitCode, type NodeEvent } from '../protocol.js';
import { corruptionOf } from './corrupt.js';
import type { NodeConfig } from './config.js';
import { nodeConfigVariable, parseNodeConfig } from './config.js';
import { Peers } from './peers.js';
import { MessageLog } from './message-log.js';

/**
 * Test hook: `REPLICA_LAB_TEST_CRASH_ROLLBACK=<node>:<step>` makes that node's
 * process exit at once (SIGKILL: no close, no flush) right after that step of
 * a rollback: `recorded` (the rollback file durable, the log not yet
 * truncated), `truncated` (the log truncated, state.db not yet undone) or
 * `undone`. Read once, at start; inert when unset.
 */
const rollbackCrash = parseRollbackCrash(process.env['REPLICA_LAB_TEST_CRASH_ROLLBACK']);

function parseRollbackCrash(value: string | undefined): { node: string; step: RollbackStep } | null {
  if (value === undefined) return null;
  const match = /^(n[1-9][0-9]?):(recorded|truncated|undone)$/.exec(value);
  if (match === null) {
    process.stderr.write(`replica-lab node: REPLICA_LAB_TEST_CRASH_ROLLBACK=${JSON.stringify(value)} is not <node>:recorded|truncated|undone; ignored\n`);
    return null;
  }
  return { node: match[1]!, step: match[2] as RollbackStep };
}

function rollbackStepHook(id: string): ((step: RollbackStep) => void) | undefined {
  if (rollbackCrash === null || rollbackCrash.node !== id) return undefined;
  const crashAt = rollbackCrash.step;
  return (step) => {
    if (step !== crashAt) return;
    process.stderr.write(`${id}: REPLICA_LAB_TEST_CRASH_ROLLBACK: exiting after the rollback's ${step} step\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}

async function main(): Promise<void> {
  if (typeof process.send !== 'function') {
    process.stderr.write('replica-lab node: start me through the replica-lab supervisor (no IPC channel)\n');
    process.exit(2);
  }
  // Everything this node creates (wal/, meta, state.db and SQLite's -wal and -shm files,
  // rollback/) is its owner's alone: dirs 0700, files 0600, whatever mode the code asks for.
  process.umask(0o077);
  const config = parseNodeConfig(process.env[nodeConfigVariable]);
  // The secret is for this process only: children of ours (none today) do not inherit it.
  delete process.env[nodeConfigVariable];
  const send = process.send.bind(process);
  let host: NodeHost | null = null;
  // The Raft messages this node sends and receives, for the dashboard's message pane (shipped with telemetry).
  const messageLog = new MessageLog();
  const peers = new Peers({
    id: config.id,
    peers: config.peers,
    socketDir: config.socketDir,
    secret: config.secret,
    prng: new Prng(mixSeed(config.seed, 'links')),
    onRaft: (messages) => {
      messageLog.received(messages, Date.now());
      host?.receiveRaft(messages);
    },
    onSnapshotFrame: (from, frame) => host?.receiveSnapshotFrame(from, frame),
    onClientFrame: (connection, frame) => host?.receive(frame, 'client', { send: (message) => connection.send(message) }),
    onMalformed: (reason) => host?.countMalformed(reason),
    onRefused: (reason) => host?.connectionRefused(reason),
  });
  host = openHost(config, {
    send: (message) => {
      if (process.connected) send(message);
    },
    sendRaft: (messages) => {
      messageLog.sent(messages, Date.now());
      peers.send(messages);
    },
    flushRaft: () => peers.flush(),
    sendSnapshotFrame: (to, frame) => peers.sendFrame(to, frame),
    setLinks: (rules) => peers.setRules(rules),
    setPeers: (nodes) => peers.setPeers(nodes),
    network: () => peers.telemetry(),
    nowMs: () => performance.now(),
    wallMs: () => Date.now(),
    rssBytes: () => process.memoryUsage.rss(),
    exit: (code) => {
      peers.close();
      process.exit(code);
    },
    pid: process.pid,
    rollbackStep: rollbackStepHook(config.id),
  }, () => {
    peers.close();
    process.exit(corruptExitCode);
  });
  const running = host;
  process.on('message', (message) => running.receive(message));
  // The supervisor is gone (exited, killed, crashed): a node never outlives it.
  process.on('disconnect', () => {
    peers.close();
    void running.close().finally(() => process.exit(0));
  });
  await peers.listen();
  // The tick timer, stretched or shrunk by the clock fault (`:clock n1 0.5`: every tick comes twice as late).
  const tick = (): void => {
    running.tick();
    if (!running.isClosed) setTimeout(tick, config.tickMs / running.clockRate);
  };
  setTimeout(tick, config.tickMs);
  let beats = 0;
  setInterval(() => {
    // A checksum hashes the whole state: once a second is plenty.
    const withChecksum = beats++ % Math.max(1, Math.round(1000 / config.telemetryMs)) === 0;
    if (process.connected && !running.isClosed) send({ type: 'telemetry', telemetry: { ...running.telemetry(withChecksum), messages: messageLog.take() } });
  }, config.telemetryMs);
}

/**
 * The host, or, when its files are damaged (a bad record with valid ones
 * after it, a log that lost entries state.db applied, a `meta` or `wal/base`
 * that does not read back: see corrupt.ts), no host: the node says so in its log and to the supervisor, then exits
 * with corruptExitCode, touching none of its files. It must not start as a
 * voter on a log that lost entries it may have acknowledged.
 */
function openHost(config: NodeConfig, io: HostIo, exitCorrupt: () => void): NodeHost {
  try {
    return new NodeHost(config, io);
  } catch (error) {
    const corrupt = corruptionOf(error);
    if (corrupt === null) throw error;
    const c = corrupt.at;
    process.stderr.write(`${config.id}: ${corrupt.message}\n`);
    const event: NodeEvent = { type: 'node-corrupt', node: config.id, segment: c.segment, offset: c.offset, index: c.index, reason: c.reason, message: corrupt.message };
    const message = { type: 'events', events: [{ atMs: Date.now(), event }] };
    // Exit once the event is on its way (or at once, without a channel); never hang on it.
    setTimeout(exitCorrupt, 1_000);
    if (process.connected && process.send !== undefined) process.send(message, undefined, {}, () => exitCorrupt());
    else exitCorrupt();
    throw new CorruptExit();
  }
}

/** Thrown past main() while the corrupt node's event is sent; the exit comes from openHost's callback. */
class CorruptExit extends Error {}

main().catch((error: unknown) => {
  if (error instanceof CorruptExit) return;
  process.stderr.write(`replica-lab node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
