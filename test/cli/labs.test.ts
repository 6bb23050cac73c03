// `replica-lab labs`, `lab` (its refusals) and `quiz` as a person or a script
// runs them: the built bin, no TTY, the state dir pointed at a temp dir.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertBuilt, runCli } from './run-cli.js';
import { temporaryStateHome } from '../labs/helpers.js';

const labIds = ['first-steps', 'async-lost-writes', 'sync-cost', 'quorum-commit', 'raft-election', 'partition', 'split-brain', 'lag-anomalies', 'ack-levels', 'lag-causes', 'statement-divergence', 'stale-leader', 'snapshot-catch-up', 'membership', 'pg-sync-cancel', 'figure-8'];

let home: { dir: string; remove: () => void };
beforeAll(() => assertBuilt());
beforeEach(() => {
  home = temporaryStateHome();
});
afterEach(() => home.remove());
const run = (args: readonly string[]) => runCli(args, { XDG_STATE_HOME: home.dir });

describe('replica-lab labs', () => {
  it('--json lists every lab as { id, title, minutes, concepts, done, engines }', () => {
    const result = run(['labs', '--json']);
    expect(result.status).toBe(0);
    const list = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(list.map((lab) => lab['id'])).toEqual(labIds);
    for (const lab of list) {
      expect(Object.keys(lab)).toEqual(['id', 'title', 'minutes', 'concepts', 'done', 'engines']);
      expect(lab['done']).toBe(false);
    }
  });

  it('shows what the progress file in $XDG_STATE_HOME/replica-lab says', () => {
    mkdirSync(join(home.dir, 'replica-lab'));
    writeFileSync(join(home.dir, 'replica-lab', 'progress.json'), JSON.stringify({ version: 1, labs: { partition: { done: true, completedAt: '2026-01-02T03:04:05.000Z' } } }));
    const list = JSON.parse(run(['labs', '--json']).stdout) as { id: string; done: boolean }[];
    expect(list.filter((lab) => lab.done).map((lab) => lab.id)).toEqual(['partition']);
    const text = run(['labs']).stdout;
    for (const id of labIds) expect(text).toContain(id);
    expect(text).toMatch(/partition .* done 2026-01-02/);
  });

  it('shows runs by hand and by autopilot apart, points at the lab by hand first and --auto second, and says where progress is stored', () => {
    mkdirSync(join(home.dir, 'replica-lab'));
    const run1 = (autopilot: boolean, passed: boolean, stepsPassed: number) => ({ at: '2026-01-02T03:04:05.000Z', passed, autopilot, stepsPassed, steps: 5, stepsByAutopilot: autopilot ? 5 : 1 });
    const labsState = {
      'first-steps': { done: false, runs: 2, autopilotRuns: 3, lastRun: run1(true, false, 2), lastHandRun: run1(false, false, 3), lastAutopilotRun: run1(true, false, 2) },
      partition: { done: true, completedAt: '2026-01-02T03:04:05.000Z', runs: 1, autopilotRuns: 1, lastRun: run1(true, true, 5), lastAutopilotRun: run1(true, true, 5) },
    };
    writeFileSync(join(home.dir, 'replica-lab', 'progress.json'), JSON.stringify({ version: 1, labs: labsState }));
    const text = run(['labs']).stdout;
    expect(text).toMatch(/^lab .* by hand +autopilot \(--auto\)$/m);
    expect(text).toMatch(/^first-steps .* 2 runs, last 3\/5 steps \(1 by A\) +3 runs, last failed at 2\/5$/m);
    expect(text).toMatch(/^partition .* done 2026-01-02 +1 run, passed$/m);
    expect(text).toMatch(/^ack-levels .* - +-$/m);
    const byHand = text.indexOf("Do one by hand: 'replica-lab lab <id>'");
    const auto = text.indexOf("Or watch it done: 'replica-lab lab <id> --auto'");
    expect(byHand).toBeGreaterThan(0);
    expect(auto).toBeGreaterThan(byHand);
    expect(text).toContain(`Progress is stored in ${join(home.dir, 'replica-lab', 'progress.json')}`);
    const help = run(['labs', '--help']).stdout;
    expect(help.indexOf("'replica-lab lab <id>'")).toBeLessThan(help.indexOf("'replica-lab lab <id> --auto'"));
  });

  it('warns about a broken progress file and still lists the labs', () => {
    mkdirSync(join(home.dir, 'replica-lab'));
    writeFileSync(join(home.dir, 'replica-lab', 'progress.json'), 'nonsense');
    const result = run(['labs', '--json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(labIds.length);
    expect(result.stderr).toMatch(/^replica-lab: .*progress\.json is not valid JSON; move it away to start afresh\n$/);
  });
});

describe('replica-lab lab', () => {
  it('refuses an unknown id in one line that lists the labs', () => {
    const result = run(['lab', 'nope']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`replica-lab: unknown lab 'nope'; the labs are ${labIds.join(', ')}\n`);
  });

  it('without --auto and without a terminal says in one line that the interactive lab needs one, and points at --auto', () => {
    const result = run(['lab', 'first-steps']);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe("replica-lab: the interactive lab needs a terminal (stdin and stdout must be a TTY); run 'replica-lab lab first-steps --auto' to watch its autopilot do it\n");
  });
});

describe('replica-lab lab figure-8 (a replay: no cluster)', () => {
  it('--auto replays the figure three ways and checks each, in well under a second of work', () => {
    const result = run(['lab', 'figure-8', '--auto']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^✓ 2\/3 With --unsafe commit-previous-term: n1 counted index 2 of term 2 as committed, n5 overwrote it, and the checker reported: leader-completeness/m);
    expect(result.stdout).toMatch(/\npassed: 3 of 3 checks passed \(a replay in the simulator: no process was started\)\n$/);
  });

  it('refuses --data-dir, which has nothing to keep, and needs a terminal without --auto', () => {
    const withDir = run(['lab', 'figure-8', '--data-dir', '/tmp/x']);
    expect(withDir.status).toBe(2);
    expect(withDir.stderr).toBe('replica-lab: lab figure-8 replays the simulator and keeps no data: --data-dir does not apply\n');
    const noTty = run(['lab', 'figure-8']);
    expect(noTty.status).toBe(2);
    expect(noTty.stderr).toMatch(/the interactive lab needs a terminal/);
  });
});

describe('replica-lab quiz', () => {
  it('without a terminal prints the selected questions, without answers unless asked', () => {
    const plain = run(['quiz', '--count', '3', '--seed', '5']);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^1\. \[/);
    expect(plain.stdout).toMatch(/\n3\. \[/);
    expect(plain.stdout).not.toMatch(/\n4\. \[/);
    expect(plain.stdout).not.toContain('why:');
    const answered = run(['quiz', '--count', '3', '--seed', '5', '--answers']);
    expect(answered.stdout).toContain('why:');
  });

  it('--json prints the questions, with answer and explanation only under --answers', () => {
    const bare = JSON.parse(run(['quiz', '--json', '--count', '4', '--seed', '1', '--topic', 'raft']).stdout) as Record<string, unknown>[];
    expect(bare).toHaveLength(4);
    for (const q of bare) {
      expect(q['topic']).toBe('raft');
      expect(q).not.toHaveProperty('answer');
      expect(q).not.toHaveProperty('explanation');
    }
    const full = JSON.parse(run(['quiz', '--json', '--count', '70', '--answers', '--topic', 'partition']).stdout) as Record<string, unknown>[];
    expect(full.length).toBeGreaterThan(3);
    for (const q of full) {
      expect(q['topic'] === 'partition' || q['lab'] === 'partition').toBe(true);
      expect(typeof q['answer']).toBe('string');
      expect(typeof q['explanation']).toBe('string');
    }
  });

  it('--json --answers gives answerIndex into the printed, shuffled choices, and a source; the same seed gives the same order', () => {
    const args = ['quiz', '--json', '--answers', '--count', '40', '--seed', '3'];
    const first = JSON.parse(run(args).stdout) as { kind: string; choices?: string[]; answer: string; answerIndex?: number; source: string }[];
    expect(first).toHaveLength(40);
    for (const q of first) {
      expect(q.source.length).toBeGreaterThan(0);
      if (q.kind === 'choice') expect(q.choices![q.answerIndex!]).toBe(q.answer);
    }
    expect(new Set(first.filter((q) => q.kind === 'choice').map((q) => q.answerIndex)).size).toBeGreaterThan(2);
    expect(JSON.parse(run(args).stdout)).toEqual(first);
  });

  it('--design prints the design prompts, with their checklists under --answers', () => {
    const prompts = JSON.parse(run(['quiz', '--design', '--json', '--answers']).stdout) as { checklist: string[] }[];
    expect(prompts.length).toBeGreaterThanOrEqual(6);
    for (const p of prompts) expect(p.checklist.length).toBeGreaterThanOrEqual(5);
    expect(run(['quiz', '--design']).stdout).toMatch(/^1\. /);
  });

  it('refuses a bad topic or count in one line', () => {
    const topic = run(['quiz', '--topic', 'bogus']);
    expect(topic.status).toBe(2);
    expect(topic.stderr).toMatch(/^replica-lab: --topic must be a topic \(basics, .*\) or a lab id \(first-steps, .*\), got 'bogus'; see 'replica-lab quiz --help'\n$/);
    const count = run(['quiz', '--count', '0']);
    expect(count.status).toBe(2);
    expect(count.stderr.split('\n')).toHaveLength(2);
  });
});
