// `:trace` on the command line, and the trace's text fitting the dashboard's
// narrowest width (80 columns) line by line.

import { describe, expect, it } from 'vitest';
import { formatTrace } from '../../cluster/index.js';
import { assembleTrace } from '../../cluster/trace/assemble.js';
import type { NodeTraceRecord } from '../../cluster/trace/types.js';
import { parseCommand } from '../../tui/commands/parse.js';

const ids = ['n1', 'n2', 'n3'];

describe(':trace', () => {
  it('parses with and without a statement', () => {
    expect(parseCommand('trace', ids)).toEqual({ ok: true, command: { kind: 'trace', sql: null } });
    expect(parseCommand(":trace INSERT INTO kv (k, v) VALUES ('a', 'b')", ids)).toEqual({ ok: true, command: { kind: 'trace', sql: "INSERT INTO kv (k, v) VALUES ('a', 'b')" } });
  });

  it('formats to lines no wider than the terminal', () => {
    const stamps = (base: number): NodeTraceRecord['stamps'] => ({
      receive: base,
      'wal-write-start': base + 10,
      'wal-write-end': base + 20,
      'ack-sent-received': base + 25,
      'fsync-start': base + 30,
      'fsync-end': base + 300,
      'ack-sent-flushed': base + 305,
      'apply-start': base + 310,
      'apply-end': base + 330,
      'ack-sent-applied': base + 335,
    });
    const record = (node: string, role: 'leader' | 'follower', s: NodeTraceRecord['stamps'], peers: NodeTraceRecord['peers'] = {}): NodeTraceRecord => ({ node, pid: 1, tag: 'trace-00000000', role, index: 3, term: 1, fsync: true, commitVia: null, stamps: s, peers });
    const leader = record('n1', 'leader', { receive: 100, validated: 120, appended: 125, 'wal-write-start': 130, 'wal-write-end': 140, 'fsync-start': 145, 'fsync-end': 400, commit: 700, 'apply-start': 710, 'apply-end': 730, reply: 731, 'reply-sent': 735 }, {
      n2: { 'append-sent': 150, 'ack-received': 250, 'ack-flushed': 700, 'ack-applied': 740 },
      n3: { 'append-sent': 150, 'ack-received': 260, 'ack-flushed': 800, 'ack-applied': 840 },
    });
    const trace = assembleTrace({
      sql: "INSERT OR REPLACE INTO kv (k, v) VALUES ('trace', 'a rather long value to wrap')",
      leader: 'n1',
      followers: ['n2', 'n3'],
      records: new Map([['n1', leader], ['n2', record('n2', 'follower', stamps(200))], ['n3', record('n3', 'follower', stamps(210))]]),
      clientPid: 0,
      clientSendUs: 0,
      clientReceiveUs: 800,
      clientLatencyMs: 0.8,
      index: 3,
      term: 1,
      rule: { mode: 'quorum', ackLevel: 'flushed', quorum: 2, syncStandbys: ['n2', 'n3'] },
    });
    expect(trace.problems).toEqual([]);
    const lines = formatTrace(trace, { width: 80 });
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(lines.some((line) => line.startsWith('n2       append n1 → n2'))).toBe(true);
    expect(lines.join('\n')).toContain("n2's ack was number 2, and released it");
  });
});
