// Choosing questions (by topic or lab, seeded so a run can be repeated) and
// grading an answer. Pure: no I/O.

import { Prng } from '../../cluster/core/index.js';
import { designPrompts } from './design.js';
import { questions } from './questions.js';
import { quizTopics, type DesignPrompt, type Question, type QuizTopic } from './types.js';

/** The topics, then the lab ids, a `--topic` may name. */
export function topicChoices(labIds: readonly string[]): string[] {
  return [...quizTopics, ...labIds];
}

/** Questions on a topic (or demonstrated by a lab), shuffled by `seed`, at most `count`. */
export function selectQuestions(options: { readonly topic: string | null; readonly count: number; readonly seed: number }): Question[] {
  const pool = options.topic === null ? [...questions] : questions.filter((q) => q.topic === options.topic || q.lab === options.topic);
  return shuffle(pool, options.seed).slice(0, Math.max(0, options.count));
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
