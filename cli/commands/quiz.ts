// `replica-lab quiz`: interview practice. At a terminal it asks the questions
// one by one and keeps the score with the lab progress; without a terminal
// (or with --json) it prints the selected questions, with --answers their
// answers too. `--design` does the same with open design prompts.

import type { Command } from 'commander';
import { labIds, ProgressStore, quiz } from '../../labs/index.js';
import { cliName, UsageError } from '../errors.js';

interface QuizFlags {
  readonly topic?: string;
  readonly count?: string;
  readonly seed?: string;
  readonly json?: boolean;
  readonly answers?: boolean;
  readonly design?: boolean;
}

const countMax = 1_000;

export function registerQuiz(program: Command): void {
  program
    .command('quiz')
    .description('interview practice: questions on the labs\' concepts, or open design prompts (--design)')
    .option('--topic <topic>', `only questions on a topic (${quiz.quizTopics.join(', ')}) or from a lab (${labIds.join(', ')})`)
    .option('--count <n>', 'how many questions (default 10; design prompts: 1 when asking, all when printing)')
    .option('--seed <n>', 'pick and order the questions, and each question\'s choices, from this seed (default: random)')
    .option('--json', 'print the selected questions as JSON instead of asking')
    .option('--answers', 'when printing, include the answers and explanations (or the design checklists)')
    .option('--design', 'open design prompts with a checklist of what a strong answer covers')
    .addHelpText(
      'after',
      `
At a terminal the quiz asks each question and says right or wrong with the
explanation and its source; a short answer is checked against the model
answer's key points, which you tick off. The score is saved with your lab
progress. Choices come in an order drawn from --seed. Piped, or with --json,
it prints the questions instead (add --answers for the answers; in JSON,
answerIndex counts from 0 in the printed, shuffled choices).

Examples:
  ${cliName} quiz --topic raft --count 5
  ${cliName} quiz --topic partition --json --answers
  ${cliName} quiz --design`,
    )
    .action(async (flags: QuizFlags) => {
      const topic = parseTopic(flags.topic);
      const seed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : whole('--seed', flags.seed, 0, 2 ** 31 - 1);
      const interactive = flags.json !== true && process.stdin.isTTY === true && process.stdout.isTTY === true;
      if (flags.design === true) {
        const count = flags.count === undefined ? (interactive ? 1 : quiz.designPrompts.length) : whole('--count', flags.count, 1, countMax);
        const prompts = quiz.selectDesignPrompts({ topic, count, seed });
        if (prompts.length === 0) throw new UsageError(`no design prompts for '${topic}'`, { command: 'quiz' });
        if (!interactive) return printDesign(prompts, flags);
        const outcome = await quiz.askDesignPrompts(prompts, { input: process.stdin, output: process.stdout });
        if (outcome.prompts > 0) {
          process.stdout.write(`\nYou covered ${outcome.covered} of ${outcome.points} checklist points.\n`);
          save({ topic: 'design', asked: outcome.points, correct: outcome.covered }, []);
        }
        return;
      }
      const count = flags.count === undefined ? 10 : whole('--count', flags.count, 1, countMax);
      const list = quiz.selectQuestions({ topic, count, seed });
      if (list.length === 0) throw new UsageError(`no questions for '${topic}'`, { command: 'quiz' });
      if (!interactive) return printQuestions(list, flags);
      process.stdout.write(`${list.length} questions${topic === null ? '' : ` on ${topic}`}. Answer with a letter; q stops.\n`);
      const outcome = await quiz.askQuestions(list, { input: process.stdin, output: process.stdout });
      const correct = outcome.answers.filter((a) => a.correct).length;
      const asked = outcome.answers.length;
      process.stdout.write(`\nScore: ${correct} of ${asked}${asked === 0 ? '' : ` (${Math.round((correct / asked) * 100)}%)`}${outcome.stoppedEarly ? ', stopped early' : ''}.\n`);
      const missed = list.filter((q) => outcome.answers.some((a) => a.id === q.id && !a.correct));
      for (const line of quiz.missedAdvice(missed, cliName)) process.stdout.write(`${line}\n`);
      if (asked > 0) save({ topic, asked, correct }, outcome.answers);
    });
}

function save(session: { topic: string | null; asked: number; correct: number }, answers: readonly { id: string; correct: boolean }[]): void {
  try {
    const store = new ProgressStore();
    store.recordQuiz(session, answers);
    process.stdout.write(`Saved to ${store.path}\n`);
  } catch (error) {
    process.stderr.write(`${cliName}: the score was not saved: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function printQuestions(list: readonly quiz.Question[], flags: QuizFlags): void {
  const answers = flags.answers === true;
  if (flags.json === true) {
    const out = list.map((q) => ({
      id: q.id,
      topic: q.topic,
      lab: q.lab ?? null,
      kind: q.kind,
      prompt: q.prompt,
      ...(q.kind === 'choice' ? { choices: q.choices } : {}),
      ...(answers
        ? {
            answer: q.kind === 'choice' ? q.choices[q.answer] : q.answer,
            ...(q.kind === 'choice' ? { answerIndex: q.answer } : { points: q.points }),
            explanation: q.explanation,
            source: q.source,
          }
        : {}),
    }));
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  const text = list.map((q, i) => {
    const lines = [`${i + 1}. [${q.topic}${q.lab === undefined ? '' : ` · lab ${q.lab}`}] ${q.prompt}`];
    if (q.kind === 'choice') q.choices.forEach((choice, c) => lines.push(`   ${quiz.choiceLetter(c)}) ${choice}`));
    if (answers) {
      lines.push(q.kind === 'choice' ? `   answer: ${quiz.choiceLetter(q.answer)}) ${q.choices[q.answer]}` : `   model answer: ${q.answer}`);
      if (q.kind === 'short') lines.push(...q.points.map((point) => `     - ${point}`));
      lines.push(`   why: ${q.explanation}`);
      lines.push(`   source: ${q.source}`);
    }
    return lines.join('\n');
  });
  process.stdout.write(`${text.join('\n\n')}\n`);
}

function printDesign(list: readonly quiz.DesignPrompt[], flags: QuizFlags): void {
  const answers = flags.answers === true;
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(list.map((p) => ({ id: p.id, title: p.title, prompt: p.prompt, labs: p.labs, ...(answers ? { checklist: p.checklist } : {}) })))}\n`);
    return;
  }
  const text = list.map((p, i) => {
    const lines = [`${i + 1}. ${p.title} (labs: ${p.labs.join(', ')})`, `   ${p.prompt}`];
    if (answers) lines.push('   A strong answer covers:', ...p.checklist.map((point) => `   - ${point}`));
    return lines.join('\n');
  });
  process.stdout.write(`${text.join('\n\n')}\n`);
}

function parseTopic(text: string | undefined): string | null {
  if (text === undefined) return null;
  const choices = quiz.topicChoices(labIds);
  if (!choices.includes(text)) throw new UsageError(`--topic must be a topic (${quiz.quizTopics.join(', ')}) or a lab id (${labIds.join(', ')}), got '${text}'`, { command: 'quiz' });
  return text;
}

function whole(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${text}'`, { command: 'quiz' });
  return value;
}
