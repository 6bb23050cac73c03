// The node process: one RaftCore over its WAL and SQLite state, driven by a
// tick timer and by messages from the supervisor over the IPC channel. It
// listens on no port and exits by itself when the channel to its parent closes.

import { NodeHost } from './host.js';
import { nodeConfigVariable, parseNodeConfig } from './config.js';

function main(): void {
  if (typeof process.send !== 'function') {
    process.stderr.write('replica-lab node: start me through the replica-lab supervisor (no IPC channel)\n');
    process.exit(2);
  }
  const config = parseNodeConfig(process.env[nodeConfigVariable]);
  const send = process.send.bind(process);
  const host = new NodeHost(config, {
    send: (message) => {
      if (process.connected) send(message);
    },
    nowMs: () => performance.now(),
    wallMs: () => Date.now(),
    rssBytes: () => process.memoryUsage.rss(),
    exit: (code) => process.exit(code),
    pid: process.pid,
  });
  process.on('message', (message) => host.receive(message));
  // The supervisor is gone (exited, killed, crashed): a node never outlives it.
  process.on('disconnect', () => {
    void host.close().finally(() => process.exit(0));
  });
  setInterval(() => host.tick(), config.tickMs);
  let beats = 0;
  setInterval(() => {
    // A checksum hashes the whole state: once a second is plenty.
    const withChecksum = beats++ % Math.max(1, Math.round(1000 / config.telemetryMs)) === 0;
    if (process.connected && !host.isClosed) send({ type: 'telemetry', telemetry: host.telemetry(withChecksum) });
  }, config.telemetryMs);
}

try {
  main();
} catch (error) {
  process.stderr.write(`replica-lab node: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
