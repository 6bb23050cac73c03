// The `:` commands the labs' instructions use: :write, :sessions, :sticky,
// :read <node> linearizable —
// parsed, completed, listed in the help, and carried out on a stand-in cluster.

import { describe, expect, it } from 'vitest';
import { NotLeaderError, TimeoutError, type Cluster } from '../../cluster/index.js';
import { partition } from '../../labs/catalog/partition.js';
import { Journal, recordingCluster } from '../../labs/journal.js';
import type { ClusterController } from '../../tui/controller.js';
import { action, baseline, observation } from '../labs/snapshot.js';
import { complete, hintFor } from '../../tui/commands/complete.js';
import { parseCommand } from '../../tui/commands/parse.js';
import { busyText, runCommand } from '../../tui/commands/run.js';
import type { ClusterCommand } from '../../tui/commands/spec.js';
import { helpLines } from '../../tui/components/help-overlay.js';
import { commandIntent } from '../../tui/keys/intents.js';
import { RecordedController } from './fixtures/recorded-controller.js';

const ids = ['n1', 'n2', 'n3'];

function command(line: string): ClusterCommand {
  const parsed = parseCommand(line, ids);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.command as ClusterCommand;
}

function error(line: string): string {
  const parsed = parseCommand(line, ids);
  if (parsed.ok) throw new Error(`'${line}' parsed as ${JSON.stringify(parsed.command)}`);
  return parsed.error;
}

describe(':write, :sessions and :sticky', () => {
  it('parse into a write to one node and workload changes with the real option names', () => {
    expect(command("write n2 INSERT OR REPLACE INTO kv(k, v) VALUES ('greeting', 'hi there')")).toEqual({ kind: 'write', node: 'n2', sql: "INSERT OR REPLACE INTO kv(k, v) VALUES ('greeting', 'hi there')" });
    expect(command(':write 3 DELETE FROM kv')).toEqual({ kind: 'write', node: 'n3', sql: 'DELETE FROM kv' });
    expect(command('sessions read-your-writes')).toMatchObject({ kind: 'workload', change: { sessions: 'read-your-writes' } });
    expect(command('sessions causal')).toMatchObject({ kind: 'workload', change: { sessions: 'causal' } });
    expect(command('sessions none')).toMatchObject({ kind: 'workload', change: { sessions: 'none' } });
    expect(command('sticky on')).toMatchObject({ kind: 'workload', change: { stickyReads: true } });
    expect(command('sticky OFF')).toMatchObject({ kind: 'workload', change: { stickyReads: false } });
    expect(commandIntent('write n1 DELETE FROM kv', ids)).toEqual({ kind: 'run', command: { kind: 'write', node: 'n1', sql: 'DELETE FROM kv' } });
  });

  it('answer a mistake in one line', () => {
    expect(error('write n2')).toBe('usage: write <node> [--timeout <ms|s>] <statement>');
    expect(error('write n9 DELETE FROM kv')).toBe("no node 'n9'; nodes are n1, n2, n3");
    expect(error('sessions always')).toBe("sessions must be none, read-your-writes, causal; got 'always'");
    expect(error('sticky')).toBe('usage: sticky on|off');
    expect(error('sticky maybe')).toBe("sticky must be on, off; got 'maybe'");
    expect(error('stiky on')).toBe("unknown command 'stiky' (did you mean sticky?); ? lists them");
  });

  it('complete and hint', () => {
    expect(complete('wr', ids)).toEqual({ text: 'write ', hint: 'write <node> [--timeout <ms|s>] <statement>' });
    expect(complete('write ', ids).hint).toBe('n1  n2  n3');
    expect(complete('sessions r', ids).text).toBe('sessions read-your-writes ');
    expect(complete('sessions ', ids).hint).toBe('none  read-your-writes  causal');
    expect(complete('sti', ids).text).toBe('sticky ');
    expect(complete('sticky o', ids).hint).toBe('on  off');
    expect(hintFor('write n2 ', ids)).toBe('write <node> [--timeout <ms|s>] <statement> — send a write straight to one node (a follower refuses and names the leader); --timeout: give up then and cancel it');
  });

  it('are listed in the help overlay', () => {
    const text = helpLines(100)
      .map((line) => line.map((segment) => segment.text).join(''))
      .join('\n');
    expect(text).toContain('write <node> [--timeout <ms|s>] <statement>');
    expect(text).toContain('sessions none|read-your-writes|causal');
    expect(text).toContain('sticky on|off');
    expect(text).toContain('read <node> [local|linearizable|lease] <select>');
    expect(text).toContain('clock <node> <rate>');
  });

  it(':clock sets the node\'s clock rate through the controller and says what it does', async () => {
    const controller = new RecordedController();
    const outcome = await runCommand(controller, command('clock n1 0.5'));
    expect(controller.callsOf('setClockRate')).toEqual([['n1', 0.5]]);
    expect(outcome).toMatchObject({ kind: 'message', level: 'ok', text: expect.stringContaining("n1's timers run at ×0.5") });
  });

  it(':write sends the statement to that node only and shows what acknowledged it', async () => {
    const controller = new RecordedController();
    const outcome = await runCommand(controller, command('write n1 DELETE FROM kv'));
    expect(controller.callsOf('execute')).toEqual([['DELETE FROM kv', [], { node: 'n1' }]]);
    expect(outcome).toMatchObject({ kind: 'result', result: { title: expect.stringMatching(/^write acknowledged by n\d/) } });
  });

  it(':write --timeout gives the write a deadline (the engine cancels it then); a bad one is one line', async () => {
    const sql = "INSERT INTO kv(k, v) VALUES ('order-42', 'paid') ON CONFLICT(k) DO UPDATE SET v = excluded.v";
    expect(command(`write n1 --timeout 2s ${sql}`)).toEqual({ kind: 'write', node: 'n1', sql, timeoutMs: 2_000 });
    expect(command('write n2 --TIMEOUT 750ms DELETE FROM kv')).toEqual({ kind: 'write', node: 'n2', sql: 'DELETE FROM kv', timeoutMs: 750 });
    expect(command('write n2 --timeout 1500 DELETE FROM kv')).toMatchObject({ timeoutMs: 1_500 });
    expect(error('write n1 --timeout 2s')).toBe('usage: write <node> [--timeout <ms|s>] <statement> (a duration and a statement after --timeout)');
    expect(error('write n1 --timeout soon DELETE FROM kv')).toBe("write --timeout must be a duration like 50ms or 1.5s; got 'soon'");
    expect(error('write n1 --timeout 0 DELETE FROM kv')).toBe("write --timeout must be at least 1ms; got '0'");
    expect(error('write n1 --timeout 11m DELETE FROM kv')).toMatch(/^write --timeout must be a duration/);
    expect(error('write n1 --timeout 601s DELETE FROM kv')).toBe("write --timeout must be at most 600000ms; got '601s'");
    const controller = new RecordedController();
    await runCommand(controller, command('write n1 --timeout 2s DELETE FROM kv'));
    expect(controller.callsOf('execute')).toEqual([['DELETE FROM kv', [], { node: 'n1', timeoutMs: 2_000, cancelAtDeadline: true }]]);
    expect(busyText(command('write n1 --timeout 2s DELETE FROM kv'))).toBe('sending the write to n1 (cancelled if it has no answer in 2.0s)…');
    // The lab's journal keeps the deadline the person gave.
    const journal = new Journal();
    await recordingCluster(controller as unknown as Cluster, journal).execute('DELETE FROM kv', [], { node: 'n1', timeoutMs: 2_000 });
    expect(journal.actions()[0]).toMatchObject({ kind: 'execute', node: 'n1', timeoutMs: 2_000 });
  });

  it(':write to a follower shows its refusal, naming the leader, as one line', async () => {
    const controller = new RecordedController();
    controller.failures.set('execute', new NotLeaderError('n2 is not the leader; send writes to n1', 'n2', 'n1'));
    const outcome = await runCommand(controller, command('write n2 DELETE FROM kv'));
    expect(outcome).toEqual({ kind: 'message', level: 'error', text: 'refused: n2 is not the leader; send writes to n1' });
  });

  it(':sessions and :sticky update the workload', async () => {
    const controller = new RecordedController();
    expect(await runCommand(controller, command('sessions read-your-writes'))).toMatchObject({ kind: 'message', level: 'ok', text: expect.stringContaining('read-your-writes') });
    expect(await runCommand(controller, command('sticky on'))).toMatchObject({ kind: 'message', level: 'ok', text: expect.stringContaining('sticky') });
    expect(controller.callsOf('workload.update')).toEqual([[{ sessions: 'read-your-writes' }], [{ stickyReads: true }]]);
  });
});

describe(':read <node> linearizable', () => {
  it('sends a ReadIndex read to that node, not through the leader, and shows the result', async () => {
    const controller = new RecordedController();
    const outcome = await runCommand(controller, command('read n1 linearizable SELECT count(*) FROM kv'));
    expect(controller.callsOf('query')).toEqual([['SELECT count(*) FROM kv', [], { node: 'n1', consistency: 'linearizable' }]]);
    expect(outcome).toMatchObject({ kind: 'result', result: { title: expect.stringMatching(/^linearizable read on n1, its leadership confirmed by a majority · n1 at applied index 110/) } });
    // Without the word it stays a local read.
    await runCommand(controller, command('read n2 SELECT 1'));
    expect(controller.callsOf('query')[1]).toEqual(['SELECT 1', [], { node: 'n2', consistency: 'local' }]);
  });

  it('a follower refuses it with NotLeader, shown in one line naming the leader', async () => {
    const controller = new RecordedController();
    controller.failures.set('query', new NotLeaderError('n2 is not the leader; send writes to n1', 'n2', 'n1'));
    expect(await runCommand(controller, command('read n2 linearizable SELECT 1'))).toEqual({
      kind: 'message',
      level: 'error',
      text: 'refused: n2 is not the leader, and only the leader serves a linearizable read; n1 leads',
    });
  });

  it('a leader cut off from the majority times out: the typed error in one line', async () => {
    const controller = new RecordedController();
    controller.failures.set('query', new TimeoutError('n1 could not confirm its leadership with a majority in time\nmore'));
    expect(await runCommand(controller, command('read n1 linearizable SELECT 1'))).toEqual({
      kind: 'message',
      level: 'error',
      text: 'linearizable read on n1 failed: timed out: n1 could not confirm its leadership with a majority in time',
    });
  });

  it('the busy line says what it waits for', () => {
    expect(busyText(command('read n1 linearizable SELECT 1'))).toContain('confirm its leadership');
    expect(busyText(command('read n1 SELECT 1'))).toBe('running the statement…');
  });

  it("partition's step 3 passes on a person's :read to the cut-off leader, journalled by the lab's cluster", async () => {
    // The dashboard drives the lab's recording cluster; here it wraps the stand-in, whose query times out.
    const stand = new RecordedController();
    stand.failures.set('query', new TimeoutError('n1 could not confirm its leadership with a majority in time'));
    const journal = new Journal();
    const lab = recordingCluster(stand as unknown as Cluster, journal) as unknown as ClusterController;
    const instruction = partition.steps[2]!.instruction;
    const cut = action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, -2_000);
    const text = typeof instruction === 'function' ? instruction(observation({ actions: [cut] }), baseline()) : instruction;
    const typed = /:read (n1 linearizable SELECT [^(]*?) \(/.exec(text);
    expect(typed, text).not.toBeNull();
    expect(text).toContain('press A');

    const outcome = await runCommand(lab, command(`read ${typed![1]!}`));
    expect(outcome).toMatchObject({ kind: 'message', level: 'error' });
    const journalled = journal.actions();
    expect(journalled).toMatchObject([{ kind: 'query', node: 'n1', consistency: 'linearizable', by: 'person', outcome: { ok: false, error: { kind: 'timeout' } } }]);
    const result = partition.steps[2]!.check(observation({ actions: [cut, ...journalled] }), baseline());
    expect(result).toMatchObject({ passed: true, facts: { refusedKind: 'timeout' } });
  });
});
