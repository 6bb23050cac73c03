// The quiz must not be passable by its form: the right answer is not usually
// the longest choice, and after shuffling no position holds it more often than
// chance allows. The same helper is run on a deliberately biased mini-bank, so
// the checks are known to fail when the bias is there.

import { describe, expect, it } from 'vitest';
import { choiceBias, questions, selectQuestions, shuffleChoices, type ChoiceQuestion, type Question } from '../../labs/quiz/index.js';

const limit = 0.4;
const seeds = Array.from({ length: 200 }, (_, i) => i * 7919 + 1);

/** Four questions whose answer is always a) and always the longest choice: what the bank looked like before. */
const biased: ChoiceQuestion[] = ['one', 'two', 'three', 'four'].map((id) => ({
  id: `biased-${id}`,
  topic: 'basics',
  kind: 'choice',
  prompt: `A biased question ${id}?`,
  choices: ['The right answer, long and carefully qualified so it stands out', 'Short', 'Shorter', 'No'],
  answer: 0,
  explanation: 'Only here to prove the check can fail.',
  source: 'this test',
}));

const unshuffled = (q: ChoiceQuestion): ChoiceQuestion => q;

describe('the bank gives nothing away by its form', () => {
  const bias = choiceBias(questions, seeds);

  it(`has the right answer as the longest choice in at most ${limit * 100}% of multiple-choice questions`, () => {
    expect(bias.questions).toBeGreaterThan(100);
    expect(bias.longestShare).toBeLessThanOrEqual(limit);
  });

  it(`puts the answer in no position more than ${limit * 100}% of the time, shuffled across ${seeds.length} seeds`, () => {
    expect(bias.positionShares.length).toBeGreaterThanOrEqual(4);
    for (const [position, share] of bias.positionShares.entries()) expect(share, `position ${String.fromCharCode(97 + position)}`).toBeLessThanOrEqual(limit);
  });

  it('and the same checks fail on a biased bank', () => {
    const found = choiceBias(biased, seeds, unshuffled);
    expect(found.longestShare).toBeGreaterThan(limit);
    expect(Math.max(...found.positionShares)).toBeGreaterThan(limit);
    // A "shuffle" that ignores the seed is caught too: here it always reverses.
    const reversed = choiceBias(biased, seeds, (q) => ({ ...q, choices: [...q.choices].reverse(), answer: q.choices.length - 1 - q.answer }));
    expect(reversed.positionShares[3]).toBe(1);
  });

  it('while the real shuffle spreads even the biased bank\'s answers', () => {
    const spread = choiceBias(biased, seeds);
    for (const share of spread.positionShares) expect(share).toBeLessThanOrEqual(limit);
  });
});

describe('shuffled choices', () => {
  const question = questions.find((q): q is ChoiceQuestion => q.kind === 'choice' && q.choices.length === 4)!;

  it('keep the same choices and point answer at the same right choice', () => {
    for (const seed of seeds.slice(0, 20)) {
      const shuffled = shuffleChoices(question, seed);
      expect([...shuffled.choices].sort()).toEqual([...question.choices].sort());
      expect(shuffled.choices[shuffled.answer]).toBe(question.choices[question.answer]);
    }
  });

  it('are the same for the same seed and question, and differ across seeds and questions', () => {
    expect(shuffleChoices(question, 3).choices).toEqual(shuffleChoices(question, 3).choices);
    const orders = new Set(seeds.slice(0, 20).map((seed) => shuffleChoices(question, seed).choices.join('|')));
    expect(orders.size).toBeGreaterThan(5);
    const twin = { ...question, id: `${question.id}-twin` };
    const differs = seeds.slice(0, 20).some((seed) => shuffleChoices(question, seed).choices.join('|') !== shuffleChoices(twin, seed).choices.join('|'));
    expect(differs).toBe(true);
  });

  it('are what selectQuestions hands out, repeatably per seed', () => {
    const pick = (seed: number): Question[] => selectQuestions({ topic: null, count: 200, seed });
    const first = pick(3);
    expect(first.map((q) => (q.kind === 'choice' ? `${q.id}:${q.answer}:${q.choices.join('|')}` : q.id))).toEqual(pick(3).map((q) => (q.kind === 'choice' ? `${q.id}:${q.answer}:${q.choices.join('|')}` : q.id)));
    for (const q of first) {
      if (q.kind !== 'choice') continue;
      const original = questions.find((o): o is ChoiceQuestion => o.id === q.id && o.kind === 'choice')!;
      expect(q.choices[q.answer]).toBe(original.choices[original.answer]);
      expect(q).toEqual(shuffleChoices(original, 3));
    }
  });
});
