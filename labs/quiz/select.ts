// Choosing questions (by topic or lab, seeded so a run can be repeated) and
// grading an answer. Pure: no I/O.

import { mixSeed, Prng } from '../../cluster/core/index.js';
import { designPrompts } from './design.js';
import { questions } from './questions.js';
import { quizTopics, type ChoiceQuestion, type DesignPrompt, type Question, type QuizTopic } from './types.js';

/** The topics, then the lab ids, a `--topic` may name. */
export function topicChoices(labIds: readonly string[]): string[] {
  return [...quizTopics, ...labIds];
}

/**
 * Questions on a topic (or demonstrated by a lab), shuffled by `seed`, at most
 * `count`; each multiple-choice question's choices shuffled too (see
 * shuffleChoices), so the answer's position says nothing.
 */
export function selectQuestions(options: { readonly topic: string | null; readonly count: number; readonly seed: number; readonly bank?: readonly Question[] }): Question[] {
  const bank = options.bank ?? questions;
  const pool = options.topic === null ? [...bank] : bank.filter((q) => q.topic === options.topic || q.lab === options.topic);
  return shuffle(pool, options.seed)
    .slice(0, Math.max(0, options.count))
    .map((q) => (q.kind === 'choice' ? shuffleChoices(q, options.seed) : q));
}

/**
 * The question with its choices in an order drawn from `seed` and the
 * question's id (the same seed and question give the same order; another seed
 * another), and `answer` pointing at the right choice in that order.
 */
export function shuffleChoices(question: ChoiceQuestion, seed: number): ChoiceQuestion {
  const order = shuffle(
    question.choices.map((_, i) => i),
    mixSeed(seed, question.id),
  );
  return { ...question, choices: order.map((i) => question.choices[i]!), answer: order.indexOf(question.answer) };
}

/** How much the form of the multiple-choice questions gives the answer away. */
export interface ChoiceBias {
  /** Multiple-choice questions looked at. */
  readonly questions: number;
  /** Share of them whose right answer is longer than every other choice (a tie for longest gives nothing away). */
  readonly longestShare: number;
  /** Share of (question, seed) pairs with the answer at each position after `arrange`: [a, b, c, …]. */
  readonly positionShares: readonly number[];
}

/** Measures ChoiceBias over a bank, arranging each question's choices once per seed (by default as the quiz does: shuffleChoices). */
export function choiceBias(bank: readonly Question[], seeds: readonly number[], arrange: (question: ChoiceQuestion, seed: number) => ChoiceQuestion = shuffleChoices): ChoiceBias {
  const choice = bank.filter((q): q is ChoiceQuestion => q.kind === 'choice');
  const longest = choice.filter((q) => q.choices.every((c, i) => i === q.answer || c.length < q.choices[q.answer]!.length)).length;
  const positions: number[] = [];
  let placed = 0;
  for (const seed of seeds) {
    for (const q of choice) {
      const arranged = arrange(q, seed);
      positions[arranged.answer] = (positions[arranged.answer] ?? 0) + 1;
      placed++;
    }
  }
  return {
    questions: choice.length,
    longestShare: choice.length === 0 ? 0 : longest / choice.length,
    positionShares: Array.from(positions, (n) => (placed === 0 ? 0 : (n ?? 0) / placed)),
  };
}

export function selectDesignPrompts(options: { readonly topic: string | null; readonly count: number; readonly seed: number }): DesignPrompt[] {
  const pool = options.topic === null ? [...designPrompts] : designPrompts.filter((p) => p.labs.includes(options.topic!));
  return shuffle(pool, options.seed).slice(0, Math.max(0, options.count));
}

export function isTopic(value: string): value is QuizTopic {
  return (quizTopics as readonly string[]).includes(value);
}

/** Fisher–Yates with the project's seeded generator. */
function shuffle<T>(items: T[], seed: number): T[] {
  const prng = new Prng(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * What to do about the questions a person missed: the labs behind them, to do
 * by hand first (`lab <id>`), then to watch (`lab <id> --auto`); and the
 * sources to read for the missed questions no lab shows. Empty when nothing
 * was missed.
 */
export function missedAdvice(missed: readonly Question[], cli: string): string[] {
  const labs = [...new Set(missed.flatMap((q) => (q.lab === undefined ? [] : [q.lab])))];
  const sources = [...new Set(missed.filter((q) => q.lab === undefined).map((q) => q.source))];
  const lines: string[] = [];
  if (labs.length > 0) {
    lines.push('Labs behind your misses: do one by hand first, then watch the autopilot do it.');
    const width = Math.max(...labs.map((id) => `${cli} lab ${id}`.length));
    for (const id of labs) lines.push(`  ${`${cli} lab ${id}`.padEnd(width)}   then: ${cli} lab ${id} --auto`);
  }
  if (sources.length > 0) lines.push(`${labs.length > 0 ? 'No lab shows the others' : 'No lab shows these'}; read: ${sources.join('; ')}`);
  return lines;
}

/** The letter of a choice: 0 -> a. */
export function choiceLetter(index: number): string {
  return String.fromCharCode(97 + index);
}

/**
 * Reads a multiple-choice answer: a letter (a, B) or a number from 1.
 * Returns the choice index, or null when it names no choice.
 */
export function parseChoice(input: string, choices: number): number | null {
  const text = input.trim().toLowerCase().replace(/[).]$/, '');
  if (/^[a-z]$/.test(text)) {
    const index = text.charCodeAt(0) - 97;
    return index < choices ? index : null;
  }
  if (/^\d+$/.test(text)) {
    const index = Number(text) - 1;
    return index >= 0 && index < choices ? index : null;
  }
  return null;
}

function normalize(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ').replace(/[.!]$/, '');
}

/** True when a short answer matches an accepted one; null when the person must compare it with the model answer. */
export function gradeShort(question: Extract<Question, { kind: 'short' }>, input: string): true | null {
  const answer = normalize(input);
  return question.accept?.some((accepted) => normalize(accepted) === answer) === true ? true : null;
}
