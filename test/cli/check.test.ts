// `replica-lab check` as a user runs it: exit 0 valid / 1 anomalies / 2
// unreadable, the documented JSON object, one clear line for a bad file,
// terminal escapes from the file shown escaped, and a large history checked
// in bounded memory.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../check/history.js';
import { assertBuilt, builtMain, projectRoot, runCli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'replica-lab-check-'));
beforeAll(() => assertBuilt());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
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

/** What a terminal would act on or hide: C0 (but newline), DEL, C1, bidi controls, separators. */
const dangerous = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/;

/** Deterministic bytes (xorshift32), so a failure can be reproduced. */
function randomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

describe('replica-lab check on hostile input', () => {
  const esc = '\x1b';
  const key = `k${esc}]0;pwned\x07${esc}[2J`;
  const hostile = new History()
    .write(1, key, `v${esc}[2J\u202e`, `s${esc}[31m`)
    .ok(1, { index: 5, term: 1, node: `n1${esc}[5m` })
    .write(2, 'b', 'ok')
    .info(2)
    .log(6, `n2${esc}[2J`)
    .committed(5, 2, key, `other${esc}]0;x\x07`)
    .rolledBack(`n1${esc}[5m`, 5, 1, key, `v${esc}[2J`)
    .final(`n3${esc}[2J`, 6, `sum${esc}[2J`)
    .final('n4', 6, 'other');

  it('shows escapes in keys, values, nodes and errors as \\x1b, never raw', () => {
    const path = file(`hostile${esc}[2J.jsonl`, hostile.text());
    const run = runCli(['check', path]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    expect(run.stdout).not.toMatch(dangerous);
    expect(run.stdout).toContain('write k\\x1b]0;pwned\\x07\\x1b[2J="v\\x1b[2J\\u{202e}" acknowledged by n1\\x1b[5m');
    expect(run.stdout).toContain('(s\\x1b[31m)');
    expect(run.stdout).toMatch(/at applied index 6: n3\\x1b\[2J sum\\x1b\[2J/);
    expect(run.stdout).toContain('hostile\\x1b[2J.jsonl');
    // --json is JSON: control characters in it are JSON escapes already.
    const json = runCli(['check', path, '--json']);
    expect(json.status).toBe(1);
    expect(json.stdout).not.toMatch(dangerous);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, anomalies: { lostWrites: 1, divergentReplicas: 1, indeterminate: 1 } });
  });

  it.each([
    ['100 KB of random bytes', () => randomBytes(100 * 1024, 13), /random\.bin: line \d+: not a JSON object/],
    ['random bytes after a valid history', () => Buffer.concat([Buffer.from(valid.text()), randomBytes(4096, 7)]), /random\.bin: line 9: not a JSON object/],
    ['an escape sequence where JSON should be', () => `${esc}]0;pwned\x07${esc}[2J\n`, /random\.bin: line 1: not a JSON object \(.*\\x1b.*\)/],
    ['a record type holding escapes (JSON escapes, so it parses)', () => '{"type":"\\u001b[2J\u009b31m"}\n', /random\.bin: line 1: unknown record type "\\u001b\[2J\\x9b31m"/],
    ['2 MiB with no newline', () => randomBytes(2 * 1024 * 1024, 5).map((b) => (b === 10 ? 32 : b)), /random\.bin: line 1: not a JSON object/],
  ])('exits 2 on %s with one escaped line and no stack trace', (_, make, message) => {
    const path = file('random.bin', make());
    const run = runCli(['check', path]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(dangerous);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

/**
 * Writes a well-formed history of about `bytes` (writes and reads of 20 keys
 * by 10 sessions, then its final state: every write committed), as a stream.
 */
async function writeLargeHistory(path: string, bytes: number): Promise<{ ops: number }> {
  const out = createWriteStream(path);
  let written = 0;
  const put = async (text: string): Promise<void> => {
    written += text.length;
    if (!out.write(text)) await once(out, 'drain');
  };
  await put(`${JSON.stringify({ type: 'run', version: 1, wall: 1, mono: 1, dataDir: null, nodes: ['n1', 'n2', 'n3'], replication: null })}\n`);
  let op = 0;
  let index = 1;
  let mono = 2;
  const value = (write: number): string => `run-${write}`.padEnd(16, '.');
  while (written < bytes * 0.8) {
    let batch = '';
    for (let i = 0; i < 500; i++) {
      const w = ++op;
      const r = ++op;
      const common = `"client":"c${w % 10}","session":"c${w % 10}.1","key":"k${w % 20}"`;
      index++;
      batch += `{"type":"invoke","op":${w},"f":"write",${common},"wall":${mono},"mono":${mono++},"node":"n1","value":"${value(w)}"}\n`;
      batch += `{"type":"ok","op":${w},"f":"write",${common},"wall":${mono},"mono":${mono++},"node":"n1","value":"${value(w)}","index":${index},"term":1}\n`;
      batch += `{"type":"invoke","op":${r},"f":"read",${common},"wall":${mono},"mono":${mono++},"node":"n2","consistency":"local","minIndex":null}\n`;
      batch += `{"type":"ok","op":${r},"f":"read",${common},"wall":${mono},"mono":${mono++},"node":"n2","value":"${value(w)}","idx":${index},"appliedIndex":${index}}\n`;
    }
    await put(batch);
  }
  await put(`{"type":"final","node":"n1","appliedIndex":${index},"checksum":"c","rows":null}\n{"type":"log","node":"n1","commitIndex":${index},"lastIndex":${index}}\n`);
  let batch = '';
  for (let w = 1, i = 2; w <= op; w += 2, i++) {
    batch += `{"type":"committed","index":${i},"term":1,"key":"k${w % 20}","value":"${value(w)}"}\n`;
    if (batch.length > 1 << 20) {
      await put(batch);
      batch = '';
    }
  }
  await put(batch);
  out.end();
  await once(out, 'finish');
  return { ops: op };
}

/** Runs the built bin, reading its peak RSS (VmHWM) from /proc while it runs. */
async function runMeasured(args: readonly string[], nodeArgs: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string; peakRssMiB: number }> {
  const child = spawn(process.execPath, [...nodeArgs, builtMain, ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let peakKiB = 0;
  const sample = (): void => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm !== null) peakKiB = Math.max(peakKiB, Number(hwm[1]));
    } catch {
      // exited between samples
    }
  };
  const timer = setInterval(sample, 20);
  const [status] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  return { status, stdout, stderr, peakRssMiB: peakKiB / 1024 };
}

describe.runIf(process.platform === 'linux')('replica-lab check on a large history', () => {
  it('checks 300 MB in bounded memory: a 64 MB heap and under 200 MB RSS', async () => {
    const path = join(dir, 'large.jsonl');
    const { ops } = await writeLargeHistory(path, 300 * 1024 * 1024);
    expect(statSync(path).size).toBeGreaterThan(250 * 1024 * 1024);
    // A heap this small cannot hold the file, nor its records: reading it whole would die here.
    const run = await runMeasured(['check', path, '--json'], ['--max-old-space-size=64']);
    rmSync(path, { force: true });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: true, operations: { ok: ops, fail: 0, info: 0 } });
    expect(run.peakRssMiB).toBeGreaterThan(0);
    expect(run.peakRssMiB).toBeLessThan(200);
  }, 120_000);
});
