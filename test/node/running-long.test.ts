// A statement cannot be interrupted once it runs (cluster/store/README.md,
// Bounds): before applying one that may run long, the host sends a report
// naming it, so that if its event loop then blocks the supervisor's last
// report says which statement (✕ wedged, issue 13).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, Message } from '../../cluster/core/index.js';
import { entryBytes } from '../../cluster/core/index.js';
import { NodeHost } from '../../cluster/node/host.js';
import type { FromNode, NodeTelemetry } from '../../cluster/protocol.js';
import { encodeStatement } from '../../cluster/store/index.js';
import { testHostIo, testNodeConfig } from './helpers.js';

const dirs: string[] = [];
const hosts: NodeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function follower(sent: FromNode[]): NodeHost {
  const dir = mkdtempSync(join(tmpdir(), 'rl-long-'));
  dirs.push(dir);
  const host = new NodeHost(testNodeConfig(dir), testHostIo({ send: (message) => sent.push(message) }));
  hosts.push(host);
  return host;
}

function entries(sqls: readonly string[]): Entry[] {
  let lsn = 0;
  return sqls.map((sql, i) => {
    const data = encodeStatement(sql, []);
    lsn += entryBytes('sql', data, undefined);
    return { index: i + 1, term: 1, lsn, kind: 'sql', data };
  });
}

const reports = (sent: readonly FromNode[]): NodeTelemetry[] =>
  sent.flatMap((m) => (m.type === 'batch' ? m.messages : [m])).flatMap((m) => (m.type === 'telemetry' ? [m.telemetry] : []));

describe('a statement that may run long', () => {
  it('is named in a report sent before it is applied; a plain upsert sends none', async () => {
    const sent: FromNode[] = [];
    const host = follower(sent);
    const log = entries(["INSERT INTO kv(k, v) VALUES ('a', '1')", "INSERT INTO kv(k, v) SELECT 'n', count(*) FROM kv a, kv b"]);
    const append = (upTo: number, commit: number): Message => ({ type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: upTo - 1, prevTerm: upTo > 1 ? 1 : 0, entries: [log[upTo - 1]!], commit });
    host.receiveRaft([append(1, 1)]);
    for (let i = 0; i < 100 && host.telemetry(false).appliedIndex < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(reports(sent)).toEqual([]);
    host.receiveRaft([append(2, 2)]);
    for (let i = 0; i < 100 && host.telemetry(false).appliedIndex < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const [before] = reports(sent);
    expect(before?.lastStatement).toEqual({ index: 2, sql: "INSERT INTO kv(k, v) SELECT 'n', count(*) FROM kv a, kv b" });
    expect(before?.appliedIndex).toBe(1);
    expect(host.telemetry(false).appliedIndex).toBe(2);
  });

  it('is named for a read too, before it runs; a point read sends none', () => {
    const sent: FromNode[] = [];
    const host = follower(sent);
    const query = (id: number, sql: string) => ({ type: 'query', id, sql, params: [], consistency: 'local', minIndex: 0, timeoutMs: 1000 });
    host.receive(query(1, "SELECT v FROM kv WHERE k = 'a'"));
    expect(reports(sent)).toEqual([]);
    host.receive(query(2, 'SELECT count(*) FROM kv a JOIN kv b'));
    expect(reports(sent).map((report) => report.lastStatement)).toEqual([{ index: 0, sql: '(a read at applied index 0) SELECT count(*) FROM kv a JOIN kv b' }]);
    // Once it has run, reports name the last applied entry again.
    expect(host.telemetry(false).lastStatement).toBeNull();
  });
});
