// `replica-lab check` as a user runs it: exit 0 valid / 1 anomalies / 2
// unreadable, the documented JSON object, and one clear line for a bad file.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../check/history.js';
import { assertBuilt, runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'replica-lab-check-'));
beforeAll(() => assertBuilt());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const valid = new History().write(1, 'a', 'v1').ok(1, { index: 2 }).read(2, 'a', 's2').ok(2, { idx: 2 }).final('n1', 2, 'x').final('n2', 2, 'x').log(2).committed(2, 1, 'a', 'v1');
const lost = new History()
  .write(1, 'a', 'doomed')
  .ok(1, { index: 5, term: 1 })
  .read(2, 'b', 's2')
  .write(3, 'b', 'v3')
  .ok(3, { index: 6, term: 2 })
  .ok(2, { idx: null })
  .read(4, 'b', 's2')
  .ok(4, { idx: 1 })
  .log(6, 'n2')
  .committed(5, 2, 'c', 'x')
  .committed(6, 2, 'b', 'v3')
  .rolledBack('n1', 5, 1, 'a', 'doomed');

describe('replica-lab check', () => {
  it('exits 0 on a valid history and prints the documented JSON object', () => {
    const path = file('valid.jsonl', valid.text());
    const run = runCli(['check', path, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      valid: true,
      anomalies: { lostWrites: 0, staleReads: 0, readYourWrites: 0, monotonicReads: 0, divergentReplicas: 0, indeterminate: 0 },
      operations: { ok: 2, fail: 0, info: 0 },
      unchecked: [],
      runDir: dir,
    });
  });

  it('exits 1 on anomalies, with counts in JSON and the operations involved in the table', () => {
    const path = file('lost.jsonl', lost.text());
    const json = runCli(['check', path, '--json']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, anomalies: { lostWrites: 1, staleReads: 1 }, operations: { ok: 4, fail: 0, info: 0 } });
    const human = runCli(['check', path]);
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/lost writes\s+1/);
    expect(human.stdout).toMatch(/stale reads\s+1/);
    expect(human.stdout).toMatch(/op 1 \(s1\) write a="doomed" acknowledged by n1/);
    expect(human.stdout).toMatch(/rolled back on n1/);
    expect(human.stdout).toMatch(/op 4 \(s2\) read b .* saw idx 1/);
    expect(human.stdout).toMatch(/verdict: INVALID: 2 anomalies/);
  });

  it.each([
    ['a truncated last line', () => file('truncated.jsonl', valid.text().slice(0, -15)), /truncated\.jsonl: line 8: not a JSON object/],
    ['a corrupt line', () => file('corrupt.jsonl', valid.text().replace('"op":2', '"op":"two"')), /corrupt\.jsonl: line 3: "invoke" record: "op" must be a whole number/],
    ['an empty file', () => file('empty.jsonl', ''), /empty\.jsonl: line 1: the file is empty/],
    ['a missing file', () => join(dir, 'nope.jsonl'), /cannot read .*nope\.jsonl: no such file/],
    ['a directory', () => dir, /is a directory/],
  ])('exits 2 on %s with one line and no stack trace', (_, make, message) => {
    const run = runCli(['check', make()]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
