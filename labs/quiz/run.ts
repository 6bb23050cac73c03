// The quiz, asked at a terminal: one question at a time, the person answers,
// hears right or wrong with the explanation, and gets a score at the end.
// Streams come in as arguments so tests can drive it without a TTY.

import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { choiceLetter, gradeShort, parseChoice } from './select.js';
import type { DesignPrompt, Question } from './types.js';

export interface QuizIo {
  readonly input: Readable;
  readonly output: Writable;
}

export interface QuizAnswer {
  readonly id: string;
  readonly correct: boolean;
}

export interface QuizOutcome {
  readonly answers: readonly QuizAnswer[];
  /** The person typed q (or closed the input) before the end. */
  readonly stoppedEarly: boolean;
}

/** Lines from the input, one per call; null once it has ended. */
class LineReader {
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private ended = false;
  private readonly rl;

  constructor(input: Readable) {
    this.rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
    this.rl.on('line', (line) => {
      if (this.waiting !== null) {
        const resolve = this.waiting;
        this.waiting = null;
        resolve(line);
      } else this.lines.push(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.waiting?.(null);
      this.waiting = null;
    });
  }

  next(): Promise<string | null> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  close(): void {
    this.rl.close();
  }
}

const stopWords = new Set(['q', 'quit', 'exit']);

/** Asks each question in turn; returns how each was answered (skipped ones are not counted). */
export async function askQuestions(list: readonly Question[], io: QuizIo): Promise<QuizOutcome> {
  const reader = new LineReader(io.input);
  const say = (text: string): void => {
    io.output.write(text);
  };
  const answers: QuizAnswer[] = [];
  try {
    for (const [i, question] of list.entries()) {
      say(`\nQuestion ${i + 1} of ${list.length} · ${question.topic}${question.lab === undefined ? '' : ` · lab ${question.lab}`}\n${question.prompt}\n`);
      if (question.kind === 'choice') {
        question.choices.forEach((choice, c) => say(`  ${choiceLetter(c)}) ${choice}\n`));
        let picked: number | null = null;
        for (;;) {
          say(`answer (${choiceLetter(0)}–${choiceLetter(question.choices.length - 1)}, Enter skips, q stops): `);
          const line = await reader.next();
          if (line === null || stopWords.has(line.trim().toLowerCase())) return { answers, stoppedEarly: true };
          if (line.trim() === '') break;
          picked = parseChoice(line, question.choices.length);
          if (picked !== null) break;
          say(`'${line.trim()}' is not one of the choices.\n`);
        }
        const right = `${choiceLetter(question.answer)}) ${question.choices[question.answer]}`;
        if (picked === null) say(`skipped. The answer: ${right}\n`);
        else {
          const correct = picked === question.answer;
          answers.push({ id: question.id, correct });
          say(correct ? '✓ right.\n' : `✗ not quite. The answer: ${right}\n`);
        }
        say(explained(question));
        continue;
      }
      say('your answer (one line; Enter skips, q stops): ');
      const line = await reader.next();
      if (line === null || stopWords.has(line.trim().toLowerCase())) return { answers, stoppedEarly: true };
      if (line.trim() === '') {
        say(`skipped. Model answer: ${question.answer}\n${numbered('Its key points', question.points)}\n${explained(question)}`);
        continue;
      }
      if (gradeShort(question, line) === true) {
        say(`✓ right. Model answer: ${question.answer}\n`);
        answers.push({ id: question.id, correct: true });
        say(explained(question));
        continue;
      }
      say(`Model answer: ${question.answer}\n${numbered('Its key points', question.points)}\n`);
      const covered = await askCovered(reader, say, question.points.length, 'all of them counts as right');
      if (covered === null) return { answers, stoppedEarly: true };
      if (covered === 'skipped') say('not counted.\n');
      else {
        const correct = covered === question.points.length;
        answers.push({ id: question.id, correct });
        say(correct ? '✓ counted as right.\n' : `✗ counted as wrong: ${covered} of ${question.points.length}.\n`);
      }
      say(explained(question));
    }
    return { answers, stoppedEarly: false };
  } finally {
    reader.close();
  }
}

export interface DesignOutcome {
  readonly prompts: number;
  readonly points: number;
  readonly covered: number;
  readonly stoppedEarly: boolean;
}

/** Shows each design prompt, waits while the person works it out, then shows the checklist and asks how much they covered. */
export async function askDesignPrompts(list: readonly DesignPrompt[], io: QuizIo): Promise<DesignOutcome> {
  const reader = new LineReader(io.input);
  const say = (text: string): void => {
    io.output.write(text);
  };
  let points = 0;
  let covered = 0;
  let prompts = 0;
  try {
    for (const [i, prompt] of list.entries()) {
      say(`\nDesign prompt ${i + 1} of ${list.length}: ${prompt.title}\n${prompt.prompt}\n\nWork out your answer (on paper, aloud, or type notes here); an empty line shows the checklist, q stops.\n`);
      for (;;) {
        const line = await reader.next();
        if (line === null || stopWords.has(line.trim().toLowerCase())) return { prompts, points, covered, stoppedEarly: true };
        if (line.trim() === '') break;
      }
      say(`${numbered('A strong answer covers', prompt.checklist)}\nLabs that show it: ${prompt.labs.join(', ')}\n`);
      const count = await askCovered(reader, say, prompt.checklist.length);
      if (count === null) return { prompts, points, covered, stoppedEarly: true };
      if (count !== 'skipped') {
        prompts++;
        points += prompt.checklist.length;
        covered += count;
      }
    }
    return { prompts, points, covered, stoppedEarly: false };
  } finally {
    reader.close();
  }
}

/** A heading and its points, numbered from 1: the checklist a person ticks off. */
function numbered(heading: string, points: readonly string[]): string {
  return `${heading}:\n${points.map((point, p) => `  ${p + 1}. ${point}`).join('\n')}`;
}

/** The explanation and the source behind it. */
function explained(question: Question): string {
  return `${question.explanation}\nSource: ${question.source}\n`;
}

/**
 * Asks how many of a checklist's `total` points the person covered, until the
 * answer is a whole number from 0 to total. Used for design prompts and short
 * answers alike. 'skipped' on an empty line; null when the input ended.
 */
async function askCovered(reader: LineReader, say: (text: string) => void, total: number, note?: string): Promise<number | 'skipped' | null> {
  for (;;) {
    say(`how many of the ${total} did you cover? (0–${total}${note === undefined ? '' : `, ${note}`}; Enter skips): `);
    const line = await reader.next();
    if (line === null) return null;
    const text = line.trim();
    if (text === '') return 'skipped';
    const value = Number(text);
    if (/^\d+$/.test(text) && value <= total) return value;
  }
}
