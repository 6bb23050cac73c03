// The lab catalog and the quiz bank are content: these checks keep them whole.

import { describe, expect, it } from 'vitest';
import { catalog, labs, replayLabs } from '../../labs/index.js';
import { designPrompts, questions, quizTopics } from '../../labs/quiz/index.js';

const labIds = new Set(catalog.map((lab) => lab.id));
const questionIds = new Set(questions.map((q) => q.id));

describe('labs', () => {
  it('are the ones the issues name, with unique ids', () => {
    expect(labs.map((lab) => lab.id).sort()).toEqual(['ack-levels', 'async-lost-writes', 'first-steps', 'lag-anomalies', 'lag-causes', 'membership', 'partition', 'pg-sync-cancel', 'quorum-commit', 'raft-election', 'snapshot-catch-up', 'split-brain', 'stale-leader', 'statement-divergence', 'sync-cost']);
    expect(replayLabs.map((lab) => lab.id)).toEqual(['figure-8']);
    expect(labIds.size).toBe(labs.length + replayLabs.length);
  });

  it.each(replayLabs.map((lab) => [lab.id, lab] as const))('replay %s is complete: minutes, concepts, steps with text, quiz ids that exist', (_, lab) => {
    expect(lab.minutes).toBeGreaterThanOrEqual(5);
    expect(lab.concepts.length).toBeGreaterThan(0);
    for (const step of lab.steps) for (const text of [step.title, step.rule, step.instruction, step.hint]) expect(text.trim().length).toBeGreaterThan(0);
    expect(lab.quiz.length).toBeGreaterThanOrEqual(3);
    for (const id of lab.quiz) expect(questionIds.has(id), id).toBe(true);
  });

  it.each(labs.map((lab) => [lab.id, lab] as const))('%s is complete: 5–15 minutes, concepts, steps with text, quiz ids that exist', (_, lab) => {
    expect(lab.minutes).toBeGreaterThanOrEqual(5);
    expect(lab.minutes).toBeLessThanOrEqual(15);
    expect(lab.title.length).toBeGreaterThan(0);
    expect(lab.summary.length).toBeGreaterThan(40);
    expect(lab.concepts.length).toBeGreaterThan(0);
    expect(lab.steps.length).toBeGreaterThanOrEqual(3);
    for (const step of lab.steps) {
      expect(step.title.length).toBeGreaterThan(0);
      expect(typeof step.instruction === 'function' || step.instruction.length > 0).toBe(true);
      expect(typeof step.hint === 'function' || step.hint.length > 0).toBe(true);
    }
    expect(lab.quiz.length).toBeGreaterThanOrEqual(3);
    for (const id of lab.quiz) expect(questionIds.has(id), `${lab.id} names quiz question '${id}'`).toBe(true);
  });
});

describe('the quiz bank', () => {
  it('has at least 120 questions with unique ids, and at least 6 design prompts with unique ids', () => {
    expect(questions.length).toBeGreaterThanOrEqual(120);
    expect(questionIds.size).toBe(questions.length);
    expect(designPrompts.length).toBeGreaterThanOrEqual(6);
    expect(new Set(designPrompts.map((p) => p.id)).size).toBe(designPrompts.length);
  });

  it.each(questions.map((q) => [q.id, q] as const))('%s has a prompt, an answer, an explanation, a source, a known topic and an existing lab if it names one', (_, q) => {
    expect(q.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(q.prompt.trim().length).toBeGreaterThan(10);
    expect(q.explanation.trim().length).toBeGreaterThan(20);
    expect(q.source.trim().length, 'a source: the manual or paper section behind the answer').toBeGreaterThan(5);
    expect(quizTopics).toContain(q.topic);
    if (q.lab !== undefined) expect(labIds.has(q.lab), `lab '${q.lab}'`).toBe(true);
    if (q.kind === 'choice') {
      expect(q.choices.length).toBeGreaterThanOrEqual(2);
      expect(new Set(q.choices).size).toBe(q.choices.length);
      expect(Number.isInteger(q.answer) && q.answer >= 0 && q.answer < q.choices.length).toBe(true);
    } else {
      expect(q.answer.trim().length).toBeGreaterThan(0);
      expect(q.points.length, 'key points to tick').toBeGreaterThanOrEqual(2);
      for (const point of q.points) expect(point.trim().length).toBeGreaterThan(0);
      for (const accepted of q.accept ?? []) expect(accepted.trim().length).toBeGreaterThan(0);
    }
  });

  it('covers every lab and every topic, and uses both kinds of question', () => {
    for (const id of labIds) expect(questions.some((q) => q.lab === id), `a question for ${id}`).toBe(true);
    for (const topic of quizTopics) expect(questions.some((q) => q.topic === topic), `a question on ${topic}`).toBe(true);
    expect(questions.some((q) => q.kind === 'short')).toBe(true);
    expect(questions.some((q) => q.kind === 'choice')).toBe(true);
  });

  // What issue 15 found missing from the bank; each must be asked about somewhere.
  it.each([
    ['snapshots and log compaction', /InstallSnapshot|snapshot/i],
    ['joint consensus', /joint consensus/],
    ['single-server membership changes', /one server at a time|single-server/],
    ['the 2015 membership fix', /bug in single-server membership changes/],
    ['a majority of 4 is 3', /majority of 4 is 3/],
    ['learners', /learner/],
    ['leader leases and clocks', /lease/],
    ['Figure 8', /Figure 8/],
    ['ReadIndex after a new leader\'s no-op', /no-op/],
    ['consistent prefix in partitioned databases', /partitioned \(sharded\)/],
    ['statement-based vs row-based replication', /row-based/],
    ['logical vs physical replication', /logical replication/i],
    ['replication slots and WAL retention', /max_slot_wal_keep_size/],
    ['cascading replication', /cascad/i],
    ['R + W > N', /R \+ W > N/],
    ['sloppy quorums', /sloppy quorum/i],
    ['hinted handoff', /hinted handoff/i],
    ['read repair', /read repair/i],
    ['last-writer-wins', /last-writer-wins|LWW/],
  ] as const)('asks about %s', (_, pattern) => {
    expect(questions.some((q) => pattern.test(`${q.prompt}\n${q.kind === 'choice' ? q.choices.join('\n') : q.answer}\n${q.explanation}\n${q.source}`))).toBe(true);
  });

  it.each(designPrompts.map((p) => [p.id, p] as const))('design prompt %s has a checklist and existing labs', (_, p) => {
    expect(p.prompt.length).toBeGreaterThan(40);
    expect(p.checklist.length).toBeGreaterThanOrEqual(5);
    expect(p.labs.length).toBeGreaterThan(0);
    for (const id of p.labs) expect(labIds.has(id), `lab '${id}'`).toBe(true);
  });
});
