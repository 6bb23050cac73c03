// The whole dashboard on recorded status() snapshots and events: layouts at
// 80×24 and 200×50, the too-small message, NO_COLOR, overlays, and every key.
// No process is started: the controller plays back a real recording.

import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { Cluster } from '../../cluster/index.js';
import type { ClusterController } from '../../tui/controller.js';
import { frame, recording, RecordedController } from './fixtures/recorded-controller.js';
import { Dashboard } from '../../tui/dashboard.js';
import { escape, keys, press, renderAt, renderDashboard, until, waitForFrame, waitForText } from './helpers.js';

afterEach(() => {
  cleanup();
});

function lines(screen: string): string[] {
  return screen.split('\n');
}

/** A controller showing the steady frame with the recorded run's events already in its backlog. */
function steady(): RecordedController {
  return new RecordedController({ frame: frame('steady'), backlog: recording.events.slice(0, 19) });
}

describe('the dashboard', () => {
  it('takes the real Cluster as its controller', () => {
    expectTypeOf<Cluster>().toExtend<ClusterController>();
  });

  it('fits 80×24: header, node table, both charts, events, status line and footer in 23 rows', async () => {
    const rendered = renderDashboard(steady(), { columns: 80, rows: 24 });
    const screen = await waitForText(rendered, 'elected leader');
    const rows = lines(screen);
    expect(rows).toHaveLength(23);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(80);
    expect(rows[0]).toBe('quorum/flushed │ failover raft │ term 1 │ leader n2 │ writes 24/s reads 26/s');
    expect(rows[1]).toMatch(/^ {2}node\s+role\s+term/);
    expect(rows[2]).toMatch(/^▸ n1\s+follower/);
    expect(rows[5]).toMatch(/^replay lag, last 60 s\s+0–10ms│consistency, last 60 s\s+0–4$/);
    expect(screen).toContain('events');
    expect(screen).toMatch(/n2 elected leader of term 1, votes n2 n1/);
    expect(rows[21]).toBe('↑↓ or a number selects a node, k kills it · : runs a command · ? help');
    expect(rows[22]).toBe('↑↓ select  k kill  r restart  p pause  i isolate  h heal  : cmd  ? help  q quit');
  });

  it('uses the room of 200×50: wide table columns, taller charts, more events, every key in the footer', async () => {
    const rendered = renderDashboard(steady(), { columns: 200, rows: 50 });
    const screen = await waitForFrame(rendered, (s) => s.includes('elected leader') && lines(s).length === 49);
    const rows = lines(screen);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(200);
    expect(rows[0]).toMatch(/^replica-lab │ quorum\/flushed │ failover raft │ term 1 │ leader n2 │ writes 24\/s reads 26\/s │ load 50\/s │ up 0:00$/);
    expect(rows[1]).toMatch(/pid\s+term.*checksum@index\s+snap\s+wal\s+rss\s+seen\s+state/);
    const chartTitle = rows.findIndex((row) => row.startsWith('replay lag'));
    const eventsTitle = rows.findIndex((row) => row.startsWith('events'));
    expect(eventsTitle - chartTitle).toBe(18 + 2);
    expect(rows.at(-1)).toBe('↑↓ select  k kill  r restart  p pause  i isolate  h heal  m mode  a ack  +- rate  t transfer  P promote  v messages  Space freeze  : cmd  ? help  q quit');
  });

  it('says the terminal is too small below 80×24, and still quits on q', async () => {
    for (const [columns, rows] of [
      [79, 24],
      [80, 23],
      [40, 10],
    ] as const) {
      const controller = steady();
      const rendered = renderDashboard(controller, { columns, rows });
      const screen = await waitForText(rendered, 'terminal too small');
      expect(screen).toContain('terminal too small: need 80×24');
      expect(screen).toContain(`this one is ${columns}×${rows}`);
      expect(lines(screen).length).toBeLessThan(rows);
      await press(rendered, 'k');
      expect(controller.callsOf('kill')).toEqual([]);
      await press(rendered, 'q');
      await until(() => controller.stopped);
      rendered.unmount();
    }
  });

  it('redraws for the terminal’s new size on resize', async () => {
    const controller = steady();
    const rendered = renderAt(<Dashboard controller={controller} failover="raft" color={false} pollMs={5} now={() => controller.current.atMs} />, 120);
    const resize = (columns: number, rows: number): void => {
      Object.defineProperty(rendered.stdout, 'columns', { configurable: true, get: () => columns });
      Object.defineProperty(rendered.stdout, 'rows', { configurable: true, get: () => rows });
      rendered.stdout.emit('resize');
    };
    resize(120, 30);
    await waitForFrame(rendered, (s) => s.includes('elected leader') && lines(s).length === 29);
    resize(60, 30);
    await waitForText(rendered, 'this one is 60×30');
    resize(90, 26);
    const screen = await waitForFrame(rendered, (s) => s.includes('replay lag') && lines(s).length === 25);
    for (const row of lines(screen)) expect(row.length).toBeLessThanOrEqual(90);
  });

  it('is monochrome with NO_COLOR, every state still in words', async () => {
    const controller = new RecordedController({ frame: frame('new leader') });
    const plain = renderDashboard(controller, { columns: 100, rows: 30, color: false });
    const screen = await waitForText(plain, '✕ killed');
    expect(screen).not.toContain(escape);
    expect(screen).toMatch(/n1\s+leader/);
    expect(screen).toMatch(/n3\s+follower.*● up/);
    plain.unmount();
    const coloured = renderDashboard(new RecordedController({ frame: frame('new leader') }), { columns: 100, rows: 30, color: true });
    expect(await waitForText(coloured, 'killed')).toContain(escape);
  });

  it('adds events to the log as the cluster emits them, newest last', async () => {
    const controller = new RecordedController({ frame: frame('steady') });
    const rendered = renderDashboard(controller, { columns: 140, rows: 30 });
    await waitForText(rendered, 'no follower measured yet');
    controller.emitEvents(recording.events.slice(0, 28));
    controller.show(frame('new leader'));
    const screen = await waitForText(rendered, 'n1 elected leader of term 2, votes n1 n3, 128ms without a leader after leader n2 exited');
    const rows = lines(screen);
    expect(rows.findIndex((row) => row.includes('fault: n2 killed'))).toBeLessThan(rows.findIndex((row) => row.includes('n1 elected leader of term 2')));
    expect(screen).toMatch(/n2\s+down.*✕ killed/);
    expect(rows[0]).toContain('leader n1');
  });
});

describe('keys', () => {
  it('select with ↑↓, Tab and digits; the selected row is marked', async () => {
    const rendered = renderDashboard(steady());
    await waitForText(rendered, '▸ n1');
    await press(rendered, keys.down);
    await waitForText(rendered, '▸ n2');
    await press(rendered, '3');
    await waitForText(rendered, '▸ n3');
    await press(rendered, keys.down);
    await waitForText(rendered, '▸ n1');
    await press(rendered, keys.up);
    await waitForText(rendered, '▸ n3');
    await press(rendered, '9');
    await waitForText(rendered, 'there is no node 9; nodes are 1–3');
  });

  it('k, r, p, i, h, t and P act on the selected node, and say what they did', async () => {
    const controller = steady();
    const rendered = renderDashboard(controller);
    await waitForText(rendered, '▸ n1');
    await press(rendered, '2', 'k');
    await waitForText(rendered, '✓ n2 killed (SIGKILL)');
    expect(controller.callsOf('kill')).toEqual([['n2']]);
    await press(rendered, 'r');
    await waitForText(rendered, 'n2 is running; k kills it first');
    await press(rendered, '3', 'p');
    await waitForText(rendered, '✓ n3 paused (SIGSTOP)');
    await press(rendered, 'i');
    await waitForText(rendered, 'n3 isolated');
    expect(controller.callsOf('partition')).toEqual([[[['n3'], ['n1', 'n2']]]]);
    await press(rendered, 'h');
    await waitForText(rendered, '✓ every link restored');
    await press(rendered, 't');
    await waitForText(rendered, 'leadership handed from n2 to n3');
    await press(rendered, 'P');
    await waitForText(rendered, '✓ n3 promoted');
    expect(controller.callsOf('pause')).toEqual([['n3']]);
    expect(controller.callsOf('heal')).toEqual([[]]);
    expect(controller.callsOf('transferLeadership')).toEqual([['n3']]);
    expect(controller.callsOf('promote')).toEqual([['n3']]);
  });

  it('handles several keys arriving in one read, in order', async () => {
    const controller = steady();
    const rendered = renderDashboard(controller);
    await waitForText(rendered, '▸ n1');
    rendered.stdin.write('3k');
    await waitForText(rendered, '✓ n3 killed');
    expect(controller.callsOf('kill')).toEqual([['n3']]);
    // Typed ahead after ':' is the command, not dashboard keys: no second kill.
    rendered.stdin.write(':kill n2');
    await waitForText(rendered, ':kill n2█');
    rendered.stdin.write('\r');
    await waitForText(rendered, '✓ n2 killed');
    rendered.stdin.write(':heal\r');
    await waitForText(rendered, '✓ every link restored');
    expect(controller.callsOf('kill')).toEqual([['n3'], ['n2']]);
  });

  it('m and a cycle the replication mode and ack level; + and - move the workload rate', async () => {
    const controller = steady();
    const rendered = renderDashboard(controller);
    await waitForText(rendered, '▸ n1');
    await press(rendered, 'm');
    await waitForText(rendered, '✓ replication: async, ack flushed');
    await press(rendered, 'm');
    await waitForText(rendered, '✓ replication: sync, ack flushed');
    await press(rendered, 'a');
    await waitForText(rendered, '✓ replication: sync, ack applied');
    expect(controller.callsOf('setReplication')).toEqual([[{ mode: 'async' }], [{ mode: 'sync' }], [{ ackLevel: 'applied' }]]);
    await press(rendered, '+');
    await waitForText(rendered, '✓ workload rate 100 ops/s (16 clients)');
    await press(rendered, '-');
    await until(() => controller.callsOf('workload.update').length === 2);
    expect(controller.callsOf('workload.update')).toEqual([[{ rate: 100, concurrency: 16 }], [{ rate: 50, concurrency: 16 }]]);
  });

  it('shows a typed cluster error as one line and keeps going', async () => {
    const controller = steady();
    controller.failures.set('transferLeadership', Object.assign(new Error('n3 is down'), { kind: 'unavailable' }));
    controller.failures.set('pause', new Error('boom\n    at somewhere (file.js:1:1)'));
    const rendered = renderDashboard(controller);
    await waitForText(rendered, '▸ n1');
    await press(rendered, '3', 't');
    await waitForText(rendered, '✕ unavailable: n3 is down');
    await press(rendered, 'p');
    const screen = await waitForText(rendered, '✕ boom');
    expect(screen).not.toContain('at somewhere');
    await press(rendered, 'k');
    await waitForText(rendered, '✓ n3 killed');
  });

  it('wraps a long refusal onto more status lines instead of cutting it at the edge, within 80×24', async () => {
    const controller = steady();
    const refusal = 'n3 cannot take leadership: its log is behind the leader by 1200 entries; wait until it has caught up (its replay lag is in the table) or transfer to n1';
    controller.failures.set('transferLeadership', Object.assign(new Error(refusal), { kind: 'unavailable' }));
    const rendered = renderDashboard(controller, { columns: 80, rows: 24 });
    await waitForText(rendered, '▸ n1');
    await press(rendered, '3', 't');
    const screen = await waitForText(rendered, '✕ unavailable: n3 cannot take');
    const rows = lines(screen);
    expect(rows).toHaveLength(23);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(80);
    const first = rows.findIndex((row) => row.startsWith('✕ unavailable'));
    const wrapped = rows.slice(first, rows.length - 1);
    expect(wrapped.length).toBeGreaterThan(1);
    expect(wrapped.join(' ').replace(/\s+/g, ' ')).toBe(`✕ unavailable: ${refusal}`);
    expect(wrapped.join('')).not.toContain('…');
    // The charts and the log gave the rows up; the footer is still the last line.
    expect(rows.at(-1)).toBe('↑↓ select  k kill  r restart  p pause  i isolate  h heal  : cmd  ? help  q quit');
    expect(screen).toMatch(/^replay lag, last 60 s/m);
  });

  it('? opens the help overlay with every key and command; Esc closes it', async () => {
    // Tall enough for the keys, the node table's words, the charts and the first commands.
    const rendered = renderDashboard(steady(), { columns: 100, rows: 64 });
    await waitForText(rendered, '▸ n1');
    await press(rendered, '?');
    const help = await waitForText(rendered, 'commands (after :)');
    expect(help).toContain('kill (SIGKILL) / restart the selected node');
    expect(help).toContain('partition n1 | n2 n3');
    expect(help).not.toMatch(/^replay lag, last 60 s/m);
    expect(lines(help)).toHaveLength(63);
    await press(rendered, 'k');
    expect(rendered.lastFrame()).toContain('commands (after :)');
    await press(rendered, keys.escape);
    await waitForFrame(rendered, (s) => /^replay lag, last 60 s/m.test(s) && !s.includes('commands (after :)'));
  });

  it('scrolls the help with ↑↓ when the terminal is short', async () => {
    const rendered = renderDashboard(steady(), { columns: 80, rows: 24 });
    await waitForText(rendered, '▸ n1');
    await press(rendered, '?');
    const first = await waitForText(rendered, 'keys');
    expect(first).toMatch(/— lines 1–15 of \d+; ↑↓ PgUp PgDn scroll, Esc closes —/);
    expect(lines(first)).toHaveLength(23);
    await press(rendered, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown, keys.pageDown);
    const last = await waitForText(rendered, 'quit');
    expect(last).toMatch(/stop every node and leave/);
    expect(last).not.toMatch(/^keys/m);
    await press(rendered, keys.up);
    await waitForFrame(rendered, (s) => s !== last);
  });

  it(': runs commands with completion and history; a mistake is a one-line error', async () => {
    const controller = steady();
    const rendered = renderDashboard(controller);
    await waitForText(rendered, '▸ n1');
    await press(rendered, ':', 'p', 'a', 'r', keys.tab);
    await waitForText(rendered, ':partition █');
    await press(rendered, 'n1 | n2 n3', keys.enter);
    await waitForText(rendered, '✓ partitioned n1 | n2 n3; h heals');
    expect(controller.callsOf('partition')).toEqual([[[['n1'], ['n2', 'n3']]]]);
    await press(rendered, ':', 'kil n1', keys.enter);
    await waitForText(rendered, "✕ unknown command 'kil' (did you mean kill?); ? lists them");
    await press(rendered, ':', keys.up);
    await waitForText(rendered, ':kil n1█');
    await press(rendered, keys.up);
    await waitForText(rendered, ':partition n1 | n2 n3█');
    await press(rendered, keys.escape);
    await waitForFrame(rendered, (s) => !s.includes('█'));
    await press(rendered, ':', 'delay n1 n2 50ms', keys.enter);
    await waitForText(rendered, '✓ 50ms delay between n1 and n2; h heals');
    expect(controller.callsOf('setLink')).toEqual([
      ['n1', 'n2', { delayMs: 50, jitterMs: 0 }],
      ['n2', 'n1', { delayMs: 50, jitterMs: 0 }],
    ]);
    await press(rendered, ':', 'mode', keys.backspace, keys.backspace, keys.backspace, keys.backspace, 'loss n3 20%', keys.enter);
    await waitForText(rendered, '✓ 20% loss between n3 and every other node');
  });

  it(':sql and :read show their result in a pane; Esc closes it', async () => {
    const controller = steady();
    const rendered = renderDashboard(controller);
    await waitForText(rendered, '▸ n1');
    await press(rendered, ':', 'sql SELECT k, v FROM kv', keys.enter);
    const pane = await waitForText(rendered, 'linearizable read through the leader');
    expect(pane).toMatch(/k\s+v/);
    expect(pane).toMatch(/k1\s+one/);
    expect(pane).toMatch(/k2\s+NULL/);
    expect(controller.callsOf('query')).toEqual([['SELECT k, v FROM kv', [], { consistency: 'linearizable' }]]);
    await press(rendered, keys.escape);
    await waitForFrame(rendered, (s) => s.includes('replay lag'));
    await press(rendered, ':', "sql INSERT INTO kv(k, v) VALUES ('a', 'b')", keys.enter);
    await waitForText(rendered, 'write acknowledged by n2');
    await press(rendered, keys.escape, ':', 'read n3 SELECT v FROM kv', keys.enter);
    await waitForText(rendered, 'local read on n3, as it is');
    expect(controller.callsOf('query')[1]).toEqual(['SELECT v FROM kv', [], { node: 'n3', consistency: 'local' }]);
    // With the pane still open, a whole command pasted in one read (':' and its Enter) runs; it was dropped.
    rendered.stdin.write(':read n2 SELECT k FROM kv\r');
    await waitForText(rendered, 'local read on n2, as it is');
    expect(controller.callsOf('query')[2]).toEqual(['SELECT k FROM kv', [], { node: 'n2', consistency: 'local' }]);
    // And one pasted without its Enter opens the command line with its text.
    rendered.stdin.write(':heal');
    await waitForText(rendered, ':heal█');
  });

  it('q and Ctrl-C stop every node, then leave', async () => {
    for (const key of ['q', keys.ctrlC]) {
      const controller = steady();
      const rendered = renderDashboard(controller);
      await waitForText(rendered, '▸ n1');
      await press(rendered, key);
      await until(() => controller.stopped);
      expect(controller.callsOf('stop')).toHaveLength(1);
    }
  });
});

