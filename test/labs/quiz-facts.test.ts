// Facts the issue found wrong in the bank (issue 15, "Facts that are wrong or
// misleading", items 2, 3, 4, 6, 7 and 9), pinned by checks on the question
// text: the right answer says the right thing, and no text says the old,
// wrong thing.

import { describe, expect, it } from 'vitest';
import { designPrompts, questions, type ChoiceQuestion, type Question } from '../../labs/quiz/index.js';

function question(id: string): Question {
  const found = questions.find((q) => q.id === id);
  if (found === undefined) throw new Error(`no question '${id}'`);
  return found;
}

function choice(id: string): ChoiceQuestion {
  const q = question(id);
  if (q.kind !== 'choice') throw new Error(`'${id}' is not multiple choice`);
  return q;
}

const right = (id: string): string => {
  const q = question(id);
  return q.kind === 'choice' ? q.choices[q.answer]! : q.answer;
};

/** What the bank asserts as true: prompts, right answers, model answers, explanations (not the wrong choices). */
const asserted = questions.map((q) => ({ id: q.id, text: `${q.prompt}\n${q.kind === 'choice' ? q.choices[q.answer] : q.answer}\n${q.explanation}` }));

describe('fact 2: MongoDB w:1 acknowledges once the primary has applied the write; the journal only with j:true', () => {
  it('async-ack-point and mongodb-w1 say applied, and name j:true for the journal', () => {
    for (const id of ['async-ack-point', 'mongodb-w1']) {
      expect(right(id)).toMatch(/applied/);
      expect(right(id)).toMatch(/j:true/);
      expect(right(id)).not.toMatch(/own disk/);
    }
    expect(right('mongodb-journal')).toMatch(/on-disk journal/);
  });

  it('no question asserts that w:1 waits for the disk', () => {
    for (const { id, text } of asserted) {
      if (!/w:\s?1\b/.test(text)) continue;
      expect(text, id).not.toMatch(/on its own disk|w:\s?1 (always )?waits for the journal/);
    }
  });
});

describe('fact 3: NOW() replicates under MySQL statement-based logging; UUID(), RAND(), USER(), SYSDATE() are unsafe', () => {
  const q = choice('nondeterministic-sql');

  it('the right answer names an unsafe function, a warning under STATEMENT, and row format under MIXED', () => {
    expect(right(q.id)).toMatch(/UUID\(\)/);
    expect(right(q.id)).toMatch(/warning/);
    expect(right(q.id)).toMatch(/MIXED switches .* row format/);
    expect(right(q.id)).not.toMatch(/NOW\(\)/);
  });

  it('the explanation says the binlog carries the timestamp and names the unsafe functions', () => {
    expect(q.explanation).toMatch(/NOW\(\) does: the binary log carries/);
    for (const fn of ['UUID()', 'RAND()', 'USER()', 'SYSDATE()']) expect(q.explanation).toContain(fn);
    expect(right('now-in-binlog')).toMatch(/^Yes: the binary log carries/);
  });

  it('no question asserts that NOW() is unsafe or makes replicas diverge', () => {
    for (const { id, text } of asserted) expect(text, id).not.toMatch(/NOW\(\)[^.]*\b(unsafe|diverge|own clock)/);
  });
});

describe('fact 4: consistent prefix is framed as DDIA does', () => {
  const q = choice('consistent-prefix');

  it('places the anomaly in partitioned databases with no global order', () => {
    expect(right(q.id)).toMatch(/partitioned \(sharded\)/);
    expect(right(q.id)).toMatch(/no global order across partitions/);
  });

  it('does not claim a follower\'s state is always a prefix of the leader\'s history', () => {
    for (const { id, text } of asserted) {
      const claims = text.match(/[^.]*always a prefix of the leader's history[^.]*/g) ?? [];
      for (const claim of claims) expect(claim, id).toMatch(/not true|does not hold/);
    }
    expect(q.choices.find((c) => /always a prefix/.test(c))).not.toBe(right(q.id));
  });
});

describe('fact 6: ReadIndex starts with the new leader committing an entry of its own term', () => {
  it('readindex gives that first step, before recording the read index', () => {
    const answer = right('readindex');
    expect(answer).toMatch(/^Makes sure an entry of its own term is committed \(a new leader commits a no-op first\)/);
    expect(answer.indexOf('no-op')).toBeLessThan(answer.indexOf('records its commit index'));
  });

  it('a question asks what happens to a read that comes before that commit', () => {
    expect(right('readindex-new-leader')).toMatch(/waits until the leader has committed an entry of its term/);
  });
});

describe('fact 7: lease reads need voters to refuse votes (CheckQuorum), and a leadership transfer voids the lease', () => {
  it('lease-reads says both', () => {
    const answer = right('lease-reads');
    expect(answer).toMatch(/refuse votes while they hear from a live leader \(CheckQuorum must be on\)/);
    expect(answer).toMatch(/leadership transfer .* must void the lease/);
  });

  it('lease-transfer and lease-checkquorum-required back it', () => {
    expect(right('lease-checkquorum-required')).toMatch(/refuse votes while they hear from a live leader/);
    expect(right('lease-transfer')).toMatch(/bypasses the lease check/);
  });
});

describe('fact 9: only remote_apply makes commits wait for replay', () => {
  const prompt = designPrompts.find((p) => p.id === 'reporting-replica')!;

  it('the reporting-replica checklist says on and remote_write do not wait for replay', () => {
    const point = prompt.checklist.find((c) => /synchronous/.test(c))!;
    expect(point).toMatch(/with on or remote_write a commit waits only for the standby to write or flush the WAL, not to replay it/);
    expect(point).toMatch(/only remote_apply waits for replay/);
  });

  it('no question or checklist says on or remote_write waits for replay', () => {
    const texts = [...asserted.map((a) => a.text), ...designPrompts.flatMap((p) => p.checklist)];
    for (const text of texts) expect(text).not.toMatch(/(synchronous_commit = on|remote_write) waits? (until the standby has replayed|for (the standby to )?replay)/);
    expect(right('ack-flushed')).toMatch(/not to replay it/);
  });
});
