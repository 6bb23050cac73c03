// The quiz as asked at a terminal, driven through streams: answers, skips,
// stopping early, self-graded short answers, design prompts; and selection.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askDesignPrompts, askQuestions, designPrompts, missedAdvice, parseChoice, questions, selectQuestions, type ChoiceQuestion, type Question, type ShortQuestion } from '../../labs/quiz/index.js';

/** Runs `ask` with these input lines; returns its result and everything written. */
async function drive<T>(lines: readonly string[], ask: (io: { input: PassThrough; output: PassThrough }) => Promise<T>): Promise<{ result: T; text: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const running = ask({ input, output });
  for (const line of lines) input.write(`${line}\n`);
  input.end();
  return { result: await running, text };
}

const choice = questions.find((q): q is ChoiceQuestion => q.kind === 'choice')!;
const wrong = (choice.answer + 1) % choice.choices.length;
const letter = (i: number) => String.fromCharCode(97 + i);
const shortWithAccept = questions.find((q): q is ShortQuestion => q.kind === 'short' && q.accept !== undefined)!;
const shortSelfGraded = questions.find((q): q is ShortQuestion => q.kind === 'short' && q.accept === undefined)!;

describe('askQuestions', () => {
  it('says right or wrong with the explanation, and counts both', async () => {
    const { result, text } = await drive([letter(choice.answer), String(wrong + 1)], (io) => askQuestions([choice, choice], io));
    expect(result.answers).toEqual([
      { id: choice.id, correct: true },
      { id: choice.id, correct: false },
    ]);
    expect(result.stoppedEarly).toBe(false);
    expect(text).toContain('✓ right.');
    expect(text).toContain(`✗ not quite. The answer: ${letter(choice.answer)}) ${choice.choices[choice.answer]}`);
    expect(text.split(choice.explanation).length - 1).toBe(2);
  });

  it('asks again after an answer that names no choice, skips on Enter, stops on q', async () => {
    const { result, text } = await drive(['zz', '', 'q'], (io) => askQuestions([choice, choice, choice], io));
    expect(text).toContain("'zz' is not one of the choices.");
    expect(text).toContain('skipped. The answer:');
    expect(result).toEqual({ answers: [], stoppedEarly: true });
  });

  it('grades an accepted short answer by itself; for any other shows the key points to tick, and counts it right only when all are', async () => {
    const list: Question[] = [shortWithAccept, shortSelfGraded, shortSelfGraded];
    const all = String(shortSelfGraded.points.length);
    const list2 = [shortWithAccept.accept![0]!, 'something I wrote', 'maybe', '99', all, 'something else', '1'];
    const { result, text } = await drive(list2, (io) => askQuestions(list, io));
    expect(result.answers.map((a) => a.correct)).toEqual([true, true, false]);
    expect(text).toContain(`Model answer: ${shortSelfGraded.answer}`);
    for (const [p, point] of shortSelfGraded.points.entries()) expect(text).toContain(`  ${p + 1}. ${point}`);
    expect(text).toContain(`how many of the ${all} did you cover? (0–${all}, all of them counts as right; Enter skips): `);
    expect(text.split(`how many of the ${all} did you cover?`).length - 1).toBe(4);
    expect(text).toContain('✓ counted as right.');
    expect(text).toContain(`✗ counted as wrong: 1 of ${all}.`);
  });

  it('does not count a short answer whose checklist is skipped', async () => {
    const { result, text } = await drive(['my answer', ''], (io) => askQuestions([shortSelfGraded], io));
    expect(result).toEqual({ answers: [], stoppedEarly: false });
    expect(text).toContain('not counted.');
  });

  it('shows the source with every explanation', async () => {
    const { text } = await drive([letter(choice.answer), ''], (io) => askQuestions([choice, shortSelfGraded], io));
    expect(text).toContain(`${choice.explanation}\nSource: ${choice.source}\n`);
    expect(text).toContain(`${shortSelfGraded.explanation}\nSource: ${shortSelfGraded.source}\n`);
  });

  it('names the lab in the heading only for questions that have one', async () => {
    const labless = questions.find((q) => q.lab === undefined)!;
    const { text } = await drive(['q'], (io) => askQuestions([labless], io));
    expect(text).toContain(`Question 1 of 1 · ${labless.topic}\n`);
  });

  it('ends cleanly when the input ends mid-quiz', async () => {
    const { result } = await drive([letter(choice.answer)], (io) => askQuestions([choice, choice], io));
    expect(result).toEqual({ answers: [{ id: choice.id, correct: true }], stoppedEarly: true });
  });
});

describe('askDesignPrompts', () => {
  it('shows the checklist after the person is ready, and adds up what they covered', async () => {
    const prompt = designPrompts[0]!;
    const { result, text } = await drive(['my notes', '', '3'], (io) => askDesignPrompts([prompt], io));
    expect(text).toContain(prompt.prompt);
    expect(text).toContain(`  1. ${prompt.checklist[0]}`);
    expect(result).toEqual({ prompts: 1, points: prompt.checklist.length, covered: 3, stoppedEarly: false });
  });
});

describe('advice after the quiz', () => {
  const withLab = questions.filter((q) => q.lab !== undefined);
  const labless = questions.filter((q) => q.lab === undefined);

  it('points to each lab by hand first, then to its autopilot', () => {
    const lines = missedAdvice([withLab[0]!, withLab[0]!], 'replica-lab');
    expect(lines[0]).toMatch(/by hand first/);
    expect(lines).toHaveLength(2);
    const lab = withLab[0]!.lab!;
    expect(lines[1]).toMatch(new RegExp(`^  replica-lab lab ${lab} +then: replica-lab lab ${lab} --auto$`));
    expect(lines[1]!.indexOf(`lab ${lab} `)).toBeLessThan(lines[1]!.indexOf('--auto'));
  });

  it('names the sources of missed questions that no lab shows, and nothing when nothing was missed', () => {
    const lines = missedAdvice([labless[0]!], 'replica-lab');
    expect(lines).toEqual([`No lab shows these; read: ${labless[0]!.source}`]);
    expect(missedAdvice([], 'replica-lab')).toEqual([]);
  });
});

describe('selection', () => {
  it('filters by topic or lab, is repeatable with a seed, and stops at the pool', () => {
    const raft = selectQuestions({ topic: 'raft', count: 100, seed: 1 });
    expect(raft.length).toBe(questions.filter((q) => q.topic === 'raft' || q.lab === 'raft').length);
    expect(raft.length).toBeGreaterThan(10);
    expect(raft.every((q) => q.topic === 'raft')).toBe(true);
    expect(selectQuestions({ topic: 'partition', count: 100, seed: 1 }).every((q) => q.lab === 'partition')).toBe(true);
    expect(selectQuestions({ topic: null, count: 5, seed: 7 }).map((q) => q.id)).toEqual(selectQuestions({ topic: null, count: 5, seed: 7 }).map((q) => q.id));
    expect(selectQuestions({ topic: null, count: 5, seed: 7 }).map((q) => q.id)).not.toEqual(selectQuestions({ topic: null, count: 5, seed: 8 }).map((q) => q.id));
  });

  it('reads a letter or a number as a choice', () => {
    expect(parseChoice('b', 4)).toBe(1);
    expect(parseChoice(' C) ', 4)).toBe(2);
    expect(parseChoice('4', 4)).toBe(3);
    expect(parseChoice('e', 4)).toBeNull();
    expect(parseChoice('0', 4)).toBeNull();
    expect(parseChoice('maybe', 4)).toBeNull();
  });
});
