// The input side of the node faults and the unsafe option, without processes:
// the IPC message a node accepts, the dashboard's :disk and :apply, and the
// statement rules with allow-nondeterministic on and off.

import { describe, expect, it } from 'vitest';
import { Invalid, parseToNode } from '../../cluster/protocol.js';
import { findStatementProblem } from '../../cluster/store/index.js';
import { parseCommand } from '../../tui/commands/parse.js';

const ids = ['n1', 'n2', 'n3'];

describe('the node-faults message', () => {
  it('parses a well-formed one', () => {
    expect(parseToNode({ type: 'node-faults', diskSlowMs: 20, applySlowMs: 0 })).toEqual({ type: 'node-faults', diskSlowMs: 20, applySlowMs: 0 });
  });

  it.each([
    { type: 'node-faults', diskSlowMs: -1, applySlowMs: 0 },
    { type: 'node-faults', diskSlowMs: 0, applySlowMs: 10_001 },
    { type: 'node-faults', diskSlowMs: '20', applySlowMs: 0 },
    { type: 'node-faults', diskSlowMs: 20 },
    { type: 'node-faults', diskSlowMs: Number.POSITIVE_INFINITY, applySlowMs: 0 },
  ])('refuses %j', (message) => {
    expect(parseToNode(message)).toBeInstanceOf(Invalid);
  });
});

describe(':disk and :apply', () => {
  it('parse slow <ms>, normal and off', () => {
    expect(parseCommand('disk n2 slow 20ms', ids)).toEqual({ ok: true, command: { kind: 'node-fault', node: 'n2', fault: 'disk', ms: 20 } });
    expect(parseCommand('apply 2 slow 5', ids)).toEqual({ ok: true, command: { kind: 'node-fault', node: 'n2', fault: 'apply', ms: 5 } });
    expect(parseCommand('disk n2 normal', ids)).toEqual({ ok: true, command: { kind: 'node-fault', node: 'n2', fault: 'disk', ms: 0 } });
    expect(parseCommand('apply n3 off', ids)).toEqual({ ok: true, command: { kind: 'node-fault', node: 'n3', fault: 'apply', ms: 0 } });
  });

  it.each([
    ['disk n2', /usage: disk <node> slow <ms> \| normal/],
    ['disk n2 fast 20ms', /usage: disk/],
    ['disk n2 slow', /usage: disk/],
    ['disk n2 slow twenty', /disk slow must be a duration like 50ms/],
    ['apply n2 slow 11s', /at most 10000ms/],
    ['apply n2 slow 0ms', /changes nothing; apply n2 normal clears the fault/],
    ['disk n7 slow 20ms', /no node 'n7'/],
    ['apply n2 normal now', /usage: apply/],
  ])('%s is refused in one line', (line, message) => {
    const parsed = parseCommand(line, ids);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('allow-nondeterministic', () => {
  const random = "INSERT INTO kv(k, v) VALUES ('a', random())";
  const clock = "INSERT INTO kv(k, v) VALUES ('a', datetime('now'))";
  const timestamp = "INSERT INTO kv(k, v) VALUES ('a', CURRENT_TIMESTAMP)";

  it('off (the default): random() and clock reads are refused as non-deterministic', () => {
    for (const sql of [random, clock, timestamp]) expect(findStatementProblem(sql)?.problem).toBe('non-deterministic');
  });

  it('on: random(), randomblob() and clock reads pass', () => {
    for (const sql of [random, clock, timestamp, "INSERT INTO kv(k, v) VALUES ('a', hex(randomblob(4)))"]) expect(findStatementProblem(sql, [], { allowNondeterministic: true })).toBeNull();
  });

  it('on: what reads one node\'s connection, file or library is still refused', () => {
    for (const sql of ["INSERT INTO kv(k, v) VALUES ('a', last_insert_rowid())", "INSERT INTO kv(k, v) VALUES ('a', sqlite_version())", 'INSERT INTO kv(k, v) SELECT name, file FROM pragma_database_list']) {
      expect(findStatementProblem(sql, [], { allowNondeterministic: true })?.problem).toBe('non-deterministic');
    }
  });

  it('the answer for a text does not leak between the two settings (the default caches verdicts per text)', () => {
    expect(findStatementProblem(random)).not.toBeNull();
    expect(findStatementProblem(random, [], { allowNondeterministic: true })).toBeNull();
    expect(findStatementProblem(random)).not.toBeNull();
  });
});
