import { describe, expect, it } from 'vitest';
import { complete, hintFor } from '../../tui/commands/complete.js';
import { parseCommand } from '../../tui/commands/parse.js';
import { runCommand } from '../../tui/commands/run.js';
import type { ClusterCommand } from '../../tui/commands/spec.js';
import { RecordedController } from './fixtures/recorded-controller.js';
import { commandSpecs } from '../../tui/commands/spec.js';

const ids = ['n1', 'n2', 'n3'];

function command(line: string): unknown {
  const parsed = parseCommand(line, ids);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.command;
}

function error(line: string): string {
  const parsed = parseCommand(line, ids);
  if (parsed.ok) throw new Error(`'${line}' parsed as ${JSON.stringify(parsed.command)}`);
  return parsed.error;
}

describe('the command line parser', () => {
  it('reads every fault', () => {
    expect(command('kill n1')).toEqual({ kind: 'kill', node: 'n1' });
    expect(command('restart 2')).toEqual({ kind: 'restart', node: 'n2' });
    expect(command('rebuild n2')).toEqual({ kind: 'rebuild', node: 'n2' });
    expect(command(':pause N3')).toEqual({ kind: 'pause', node: 'n3' });
    expect(command('isolate n2')).toEqual({ kind: 'isolate', node: 'n2' });
    expect(command('heal')).toEqual({ kind: 'heal' });
    expect(command('partition n1 | n2 n3')).toEqual({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] });
    expect(command('partition n1|n2|n3')).toEqual({ kind: 'partition', groups: [['n1'], ['n2'], ['n3']] });
    expect(command('cut n1 -> n2')).toEqual({ kind: 'cut', from: 'n1', to: 'n2' });
    expect(command('cut 3->1')).toEqual({ kind: 'cut', from: 'n3', to: 'n1' });
    expect(error('cut n1 n2')).toContain('usage: cut <node> -> <node>');
    expect(error('cut n1 -> n1')).toContain('no link to itself');
    expect(error('add witness')).toBe("add must be learner, voter; got 'witness'");
    expect(error('add')).toBe('usage: add learner|voter');
    expect(error('remove n7')).toBe("no node 'n7'; nodes are n1, n2, n3");
    expect(error('promote-learner')).toBe('usage: promote-learner <node>');
    expect(error('cut n1 -> n9')).toContain('n9');
    expect(command('delay n1 n2 50ms')).toMatchObject({
      kind: 'link',
      links: [
        ['n1', 'n2'],
        ['n2', 'n1'],
      ],
      options: { delayMs: 50, jitterMs: 0 },
      description: '50ms delay between n1 and n2',
    });
    expect(command('delay n1 1.5s jitter 20ms')).toMatchObject({ options: { delayMs: 1500, jitterMs: 20 }, description: '1500ms ±20ms delay between n1 and every other node' });
    expect(command('loss n3 20%')).toMatchObject({
      kind: 'link',
      links: [
        ['n3', 'n1'],
        ['n1', 'n3'],
        ['n3', 'n2'],
        ['n2', 'n3'],
      ],
      options: { loss: 0.2 },
    });
    expect(command('loss n3 n1 0.5')).toMatchObject({ options: { loss: 0.5 }, description: '50% loss between n3 and n1' });
  });

  it('reads every setting and the workload', () => {
    expect(command('mode async')).toEqual({ kind: 'replication', change: { mode: 'async' } });
    expect(command('ack applied')).toEqual({ kind: 'replication', change: { ackLevel: 'applied' } });
    expect(command('quorum 3')).toEqual({ kind: 'replication', change: { quorum: 3 } });
    expect(command('quorum majority')).toEqual({ kind: 'replication', change: { quorum: null } });
    expect(command('sync-timeout 200ms')).toEqual({ kind: 'replication', change: { syncTimeoutMs: 200 } });
    expect(command('sync-timeout off')).toEqual({ kind: 'replication', change: { syncTimeoutMs: null } });
    expect(command('fallback async')).toEqual({ kind: 'replication', change: { syncFallback: 'async' } });
    expect(command('transfer n3')).toEqual({ kind: 'transfer', node: 'n3' });
    expect(command('promote n2')).toEqual({ kind: 'promote', node: 'n2' });
    // Membership change: promote keeps its meaning (manual failover); a learner is promoted with promote-learner.
    expect(command('add learner')).toEqual({ kind: 'add-node', as: 'learner' });
    expect(command(':add VOTER')).toEqual({ kind: 'add-node', as: 'voter' });
    expect(command('promote-learner n3')).toEqual({ kind: 'promote-learner', node: 'n3' });
    expect(command('remove 2')).toEqual({ kind: 'remove-node', node: 'n2' });
    expect(command('rate 200')).toMatchObject({ kind: 'workload', change: { rate: 200 } });
    // An open loop gets the clients to serve its rate at 10 ms an operation, never fewer than 16.
    expect(command('rate 200')).toMatchObject({ change: { rate: 200, concurrency: 16 }, description: 'workload rate 200 ops/s (16 clients)' });
    expect(command('rate 5000')).toMatchObject({ change: { rate: 5000, concurrency: 50 } });
    expect(command('rate 100000')).toMatchObject({ change: { rate: 100000, concurrency: 1000 } });
    expect(command('workload off')).toEqual({ kind: 'workload-running', running: false });
    expect(command('reads 90%')).toMatchObject({ kind: 'workload', change: { readFraction: 0.9 } });
    expect(command('read-from follower')).toMatchObject({ kind: 'workload', change: { readTarget: 'follower' } });
    expect(command('read-from n2')).toMatchObject({ kind: 'workload', change: { readTarget: 'n2' } });
    expect(command('read-consistency linearizable')).toMatchObject({ kind: 'workload', change: { readConsistency: 'linearizable' } });
  });

  it('keeps SQL as typed', () => {
    expect(command("sql INSERT INTO kv(k, v) VALUES ('a', 'b c')")).toEqual({ kind: 'sql', sql: "INSERT INTO kv(k, v) VALUES ('a', 'b c')" });
    expect(command('read n2 SELECT count(*) FROM kv')).toEqual({ kind: 'read', node: 'n2', consistency: 'local', sql: 'SELECT count(*) FROM kv' });
    expect(command('read n2 local SELECT count(*) FROM kv')).toEqual({ kind: 'read', node: 'n2', consistency: 'local', sql: 'SELECT count(*) FROM kv' });
    expect(command("read n1 linearizable SELECT k, v FROM kv WHERE k = 'k1'")).toEqual({ kind: 'read', node: 'n1', consistency: 'linearizable', sql: "SELECT k, v FROM kv WHERE k = 'k1'" });
    expect(command(':read 3  LINEARIZABLE  SELECT 1')).toEqual({ kind: 'read', node: 'n3', consistency: 'linearizable', sql: 'SELECT 1' });
    expect(command("read n1 lease SELECT v FROM kv WHERE k = 'color'")).toEqual({ kind: 'read', node: 'n1', consistency: 'lease', sql: "SELECT v FROM kv WHERE k = 'color'" });
    expect(command('clock n1 0.5')).toEqual({ kind: 'clock', node: 'n1', rate: 0.5 });
    expect(command('clock n2 x2')).toEqual({ kind: 'clock', node: 'n2', rate: 2 });
    expect(error('clock n1 0')).toContain('a clock rate is a number from 0.05 to 20');
    expect(error('clock n1 fast')).toContain('clock <node> <rate>');
    expect(error('clock n1')).toContain('clock <node> <rate>');
    expect(command('select n3')).toEqual({ kind: 'select', node: 'n3' });
  });

  it('answers a mistake with one line that says what to do', () => {
    expect(error('kil n1')).toBe("unknown command 'kil' (did you mean kill?); ? lists them");
    expect(error('partiton n1 | n2')).toBe("unknown command 'partiton' (did you mean partition?); ? lists them");
    expect(error('frobnicate')).toBe("unknown command 'frobnicate'; ? lists them");
    expect(error('kill')).toBe('usage: kill <node>');
    expect(error('kill n9')).toBe("no node 'n9'; nodes are n1, n2, n3");
    expect(error('partition n1 n2')).toBe('usage: partition n1 | n2 n3 (at least two groups, split by |)');
    expect(error('partition n1 | n1')).toBe('n1 is in two groups');
    expect(error('delay n1 n2 fast')).toBe("delay must be a duration like 50ms or 1.5s; got 'fast'");
    expect(error('loss n3 120%')).toBe("loss must be a percentage like 20% (or a fraction like 0.2); got '120%'");
    expect(error('mode eventual')).toBe("mode must be async, sync, quorum; got 'eventual'");
    expect(error('quorum 4')).toBe("quorum must be a whole number from 1 to 3, or majority; got '4'");
    expect(error('heal now')).toBe('heal takes no arguments');
    expect(error('sql')).toBe('usage: sql <statement>');
    expect(error('')).toBe('type a command, e.g. kill n1; ? lists them');
    expect(error('x'.repeat(3_000))).toBe('the command is longer than 2000 characters');
    expect(error('read n2')).toBe('usage: read <node> [local|linearizable|lease] <select>');
    expect(error('read n2 linearizable')).toBe('usage: read <node> [local|linearizable|lease] <select> (a statement after linearizable)');
    expect(error('read n9 linearizable SELECT 1')).toBe("no node 'n9'; nodes are n1, n2, n3");
    for (const line of ['kill', 'delay', 'loss n1', 'read n2', 'read n2 local', 'mode']) expect(error(line)).not.toContain('\n');
  });

  it('does not offer a command for what is clearly SQL: it says SQL goes after sql', () => {
    // A SELECT with a typo is not the node command select.
    expect(error('slect * from kv')).toBe("unknown command 'slect'; this looks like SQL, which goes after sql: sql select * from kv");
    expect(error('slect * from kv')).not.toContain('did you mean select');
    // DELETE is not a misspelt delay, nor INSERT anything else.
    expect(error("delete from kv where k = 'a'")).toBe("unknown command 'delete'; this looks like SQL, which goes after sql: sql delete from kv where k = 'a'");
    expect(error('INSERT INTO kv(k, v) VALUES (1, 2)')).toBe("unknown command 'INSERT'; this looks like SQL, which goes after sql: sql insert INTO kv(k, v) VALUES (1, 2)");
    // The command select takes a node; a statement after it is SQL typed without sql.
    expect(error('select * from kv')).toBe('select <node> picks a node in the table; SQL goes after sql: sql select * from kv');
    expect(error('SELECT count(*) FROM kv')).toBe('select <node> picks a node in the table; SQL goes after sql: sql SELECT count(*) FROM kv');
    expect(command('select 2')).toEqual({ kind: 'select', node: 'n2' });
    // `slect 1` is SELECT 1 or `select 1` (node n1): SQL first, and what the command does.
    expect(error('slect 1')).toBe("unknown command 'slect'; SQL goes after sql: sql select 1 (or the command select <node>: select a node in the table)");
    // Not clearly SQL: both readings. A near miss of a command alone is still suggested.
    expect(error('delet n1 n2 50ms')).toMatch(/^unknown command 'delet'; SQL goes after sql: sql delete n1 n2 50ms \(or the command delay <node> \[node\] <ms>/);
    expect(error('dealy n1 n2 50ms')).toBe("unknown command 'dealy' (did you mean delay?); ? lists them");
  });

  it('hints that SQL goes after sql while it is typed', () => {
    expect(hintFor('slect', ids)).toBe("no command starts with 'slect'; SQL goes after sql: sql select …");
    expect(hintFor('slect * from ', ids)).toBe("unknown command 'slect'; SQL goes after sql: sql select * from");
    expect(hintFor('select * from kv', ids)).toBe('select <node> picks a node; SQL goes after sql: sql select * from kv');
    expect(hintFor('select ', ids)).toBe('select <node> — n1 n2 n3');
  });

  it('parses the usage example of every command it documents', () => {
    const examples: Record<string, string> = { partition: 'partition n1 | n2 n3', cut: 'cut n1 -> n2', delay: 'delay n1 n2 50ms', loss: 'loss n3 20%', sql: 'sql SELECT 1', read: 'read n2 SELECT 1', write: 'write n2 DELETE FROM kv', sessions: 'sessions read-your-writes', disk: 'disk n2 slow 20ms', apply: 'apply n2 normal', clock: 'clock n1 0.5', retain: 'retain 256KiB' };
    for (const spec of commandSpecs) {
      const example = examples[spec.name] ?? spec.usage.replace(/<node>/g, 'n1').replace(/ \[.*\]/g, '').replace(/<k>\|majority/, '2').replace(/<ms>\|off/, '100').replace(/<ops\/s>/, '10').replace(/<percent>/, '50%').replace(/(\w+)\|[\w|<>]+/, '$1');
      expect(parseCommand(example, ids), example).toMatchObject({ ok: true });
    }
  });
});

describe(':disk and :apply', () => {
  it('say their limit the same way, in ms, whatever unit the value was given in', () => {
    for (const name of ['disk', 'apply']) {
      expect(error(`${name} n2 slow 20000ms`)).toBe(`${name} slow must be at most 10000ms; got '20000ms'`);
      expect(error(`${name} n2 slow 700s`)).toBe(`${name} slow must be at most 10000ms; got '700s'`);
    }
    expect(command('apply n2 slow 10s')).toEqual({ kind: 'node-fault', node: 'n2', fault: 'apply', ms: 10_000 });
    expect(error('delay n1 n2 700s')).toBe("delay must be at most 600000ms; got '700s'");
  });
});

describe('rebuild', () => {
  it(':rebuild restarts the node with rebuild: true and says what it did', async () => {
    const controller = new RecordedController();
    const outcome = await runCommand(controller, command('rebuild n2') as ClusterCommand);
    expect(outcome).toMatchObject({ kind: 'message', level: 'ok', text: expect.stringContaining('n2 wiped (term and vote kept) and restarted empty') });
    expect(controller.callsOf('restart')).toEqual([['n2', { rebuild: true }]]);
  });
});

describe(':retain', () => {
  it('takes a size in bytes, KiB, MiB (k, M as 1024s) or none, within the snapshot policy\'s limits', () => {
    expect(parseCommand('retain 256KiB', ids)).toEqual({ ok: true, command: { kind: 'retain', bytes: 262_144 } });
    expect(parseCommand('retain 1mb', ids)).toEqual({ ok: true, command: { kind: 'retain', bytes: 1_048_576 } });
    expect(parseCommand('retain 65536', ids)).toEqual({ ok: true, command: { kind: 'retain', bytes: 65_536 } });
    expect(parseCommand('retain none', ids)).toEqual({ ok: true, command: { kind: 'retain', bytes: null } });
    expect(parseCommand('retain 1KiB', ids)).toMatchObject({ ok: false, error: expect.stringContaining('from 64KiB') });
    expect(parseCommand('retain lots', ids)).toMatchObject({ ok: false, error: expect.stringContaining('256KiB') });
    expect(parseCommand('retain', ids)).toMatchObject({ ok: false });
  });

  it('sets the cluster\'s retention, or says the stand-in cannot', async () => {
    const calls: unknown[] = [];
    const controller = Object.assign(new RecordedController(), {
      setSnapshotPolicy: (change: { retainBytes?: number | null }) => {
        calls.push(change);
        return { retainBytes: change.retainBytes ?? null };
      },
    });
    expect(await runCommand(controller, command('retain 256KiB') as ClusterCommand)).toMatchObject({ level: 'ok', text: expect.stringContaining('capped at 256KiB') });
    expect(await runCommand(controller, command('retain none') as ClusterCommand)).toMatchObject({ level: 'ok', text: expect.stringContaining('no cap') });
    expect(calls).toEqual([{ retainBytes: 262_144 }, { retainBytes: null }]);
    expect(await runCommand(new RecordedController(), command('retain 256KiB') as ClusterCommand)).toMatchObject({ text: 'this cluster cannot change its snapshot policy' });
  });
});

describe('link faults', () => {
  it('say that a link between two followers carries little while they are followers', async () => {
    // The recording's leader is n2: n1–n3 joins two followers.
    const controller = new RecordedController();
    const between = await runCommand(controller, command('delay n1 n3 300ms') as ClusterCommand);
    expect(between).toEqual({
      kind: 'message',
      level: 'ok',
      text: "300ms delay between n1 and n3; h heals. Both are followers, which send each other only election votes; the log flows on n2–n1 and n2–n3, so this shows in an election or once one of them leads",
    });
    expect(controller.callsOf('setLink')).toEqual([
      ['n1', 'n3', { delayMs: 300, jitterMs: 0 }],
      ['n3', 'n1', { delayMs: 300, jitterMs: 0 }],
    ]);
    expect(await runCommand(controller, command('loss n3 n1 20%') as ClusterCommand)).toMatchObject({ text: expect.stringContaining('20% loss between n3 and n1; h heals. Both are followers') });
    // A link of the leader's carries the log: nothing to add.
    expect(await runCommand(controller, command('delay n1 n2 300ms') as ClusterCommand)).toEqual({ kind: 'message', level: 'ok', text: '300ms delay between n1 and n2; h heals' });
    expect(await runCommand(controller, command('delay n3 300ms') as ClusterCommand)).toEqual({ kind: 'message', level: 'ok', text: '300ms delay between n3 and every other node; h heals' });
  });
});

describe(':snapshot', () => {
  it('takes a snapshot of one node and says its index, size, time and the WAL kept', async () => {
    expect(command('snapshot n2')).toEqual({ kind: 'snapshot', node: 'n2' });
    expect(command(':snapshot 3')).toEqual({ kind: 'snapshot', node: 'n3' });
    expect(error('snapshot')).toContain('usage: snapshot <node>');
    expect(error('snapshot n9')).toContain('n9');
    const controller = new RecordedController();
    // A stand-in without snapshots says so instead of failing.
    expect(await runCommand(controller, command('snapshot n2') as ClusterCommand)).toEqual({ kind: 'message', level: 'info', text: 'this dashboard cannot take snapshots' });
    const asked: string[] = [];
    const withSnapshots = Object.assign(controller, {
      snapshot: async (id: string) => {
        asked.push(id);
        return { index: 48_201, term: 3, bytes: 3_460_000, durationMs: 42, walBytesRetained: 1_153_434 };
      },
    });
    expect(await runCommand(withSnapshots, command('snapshot n2') as ClusterCommand)).toEqual({ kind: 'message', level: 'ok', text: 'n2 snapshot at index 48201 (3.3MiB, 42ms); WAL kept 1.1MiB' });
    expect(asked).toEqual(['n2']);
  });
});

describe('completion', () => {
  it('completes command names, node ids and choices', () => {
    expect(complete('ki', ids)).toEqual({ text: 'kill ', hint: 'kill <node>' });
    expect(complete('kill ', ids)).toEqual({ text: 'kill n', hint: 'n1  n2  n3' });
    expect(complete('kill n2', ids).text).toBe('kill n2 ');
    expect(complete('mode a', ids).text).toBe('mode async ');
    expect(complete('ack ', ids).hint).toBe('received  flushed  applied');
    expect(complete('partition n1 ', ids)).toEqual({ text: 'partition n1 ', hint: 'n2  n3  |' });
    expect(complete('partition n1 |', ids).text).toBe('partition n1 | ');
    expect(complete('read-from f', ids).text).toBe('read-from follower ');
    // After :read's node, the consistency word (optional: a statement may come straight away).
    expect(complete('read n1 ', ids)).toEqual({ text: 'read n1 l', hint: 'local  linearizable  lease' });
    expect(complete('read n1 li', ids).text).toBe('read n1 linearizable ');
    expect(complete('read n1 SEL', ids)).toEqual({ text: 'read n1 SEL', hint: 'read <node> [local|linearizable|lease] <select>' });
  });

  it('offers every candidate when a prefix is shared', () => {
    const both = complete('p', ids);
    expect(both.text).toBe('p');
    expect(both.hint).toBe('pause  partition  promote  promote-learner');
    expect(complete('re', ids).hint).toBe('restart  resume  rebuild  remove  reads  read-from  read-consistency  retain  read');
  });

  it('hints the usage while typing', () => {
    expect(hintFor('', ids)).toBe('Tab completes · Enter runs · Esc cancels · ↑ history');
    expect(hintFor('dela', ids)).toBe('delay <node> [node] <ms> [jitter <ms>] — slow the links between two nodes (or all of one node), both ways');
    expect(hintFor('kill ', ids)).toBe('kill <node> — n1 n2 n3');
    expect(hintFor('zzz', ids)).toBe("no command starts with 'zzz'");
    expect(hintFor('read n1 ', ids)).toBe('read <node> [local|linearizable|lease] <select> — local linearizable lease');
  });
});
