// `replica-lab labs`: the guided labs with the person's progress (by hand and
// by autopilot, apart), as a table or (--json) as
// `[{ "id", "title", "minutes", "concepts", "done", "engines" }]`; `--engine`
// lists only the labs offered on that engine. It points at the lab by hand
// first and at its autopilot second.

import type { Command } from 'commander';
import { catalog, labEngines, labOn, labsOn, ProgressFileError, ProgressStore, emptyProgress, type LabProgress, type LabRun, type Progress } from '../../labs/index.js';
import { cliName } from '../errors.js';
import { choiceFlag } from '../flags.js';
import { engineKinds, engineNames } from '../../cluster/engine.js';

interface LabsFlags {
  readonly json?: boolean;
  readonly engine?: string;
}

export function registerLabs(program: Command): void {
  program
    .command('labs')
    .description('list the guided labs and your progress')
    .option('--json', 'print [{ "id", "title", "minutes", "concepts", "done", "engines" }]')
    .option('--engine <engine>', `only the labs offered on this engine: ${engineKinds.join(' | ')}`)
    .addHelpText('after', `\nDo a lab by hand with '${cliName} lab <id>' (the dashboard: you cause each step, A lets the autopilot do one);\nwatch its autopilot do it headless with '${cliName} lab <id> --auto'.\nProgress is kept in $XDG_STATE_HOME/${cliName}/progress.json (default ~/.local/state/${cliName}).`)
    .action((flags: LabsFlags) => {
      const engine = flags.engine === undefined ? null : choiceFlag('--engine', flags.engine, engineKinds, 'labs');
      // On an engine, each lab as it runs there (a variant's own minutes and summary).
      const shown = engine === null ? catalog : labsOn(engine).map((lab) => ('steps' in lab && 'setup' in lab ? labOn(lab, engine) : lab));
      const on = engine === null || engine === 'replica-lab' ? '' : ` --engine ${engine}`;
      const store = new ProgressStore();
      const progress = readOrWarn(store);
      if (flags.json === true) {
        const list = shown.map((lab) => ({ id: lab.id, title: lab.title, minutes: lab.minutes, concepts: [...lab.concepts], done: progress.labs[lab.id]?.done === true, engines: [...labEngines(lab)] }));
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      if (engine !== null && shown.length === 0) {
        process.stdout.write(`No lab runs on the ${engineNames[engine]} engine in this version; '${cliName} labs' lists them all (each runs on replica-lab).\n`);
        return;
      }
      process.stdout.write(table(progress, shown));
      process.stdout.write(
        [
          '',
          `Do one by hand: '${cliName} lab <id>${on}' (the dashboard on a real cluster: you cause each step; A lets the autopilot do one for you).`,
          `Or watch it done: '${cliName} lab <id> --auto${on}' (the autopilot, headless).`,
          `Progress is stored in ${store.path}; a lab is done when you finish it by hand.`,
          '',
        ].join('\n'),
      );
    });
}

/** A broken progress file must not hide the list: say so once and list the labs as not done. */
export function readOrWarn(store: ProgressStore): Progress {
  try {
    return store.read();
  } catch (error) {
    if (!(error instanceof ProgressFileError)) throw error;
    process.stderr.write(`${cliName}: ${error.message}\n`);
    return emptyProgress();
  }
}

/** "done 2026-01-02", "2 runs, last 3/5 steps", or "-". */
export function byHand(entry: LabProgress | undefined): string {
  if (entry === undefined || (entry.runs === 0 && !entry.done)) return '-';
  if (entry.done) return `done ${entry.completedAt?.slice(0, 10) ?? ''}`.trim();
  const last = entry.lastHandRun;
  return `${runs(entry.runs)}${last === null ? '' : `, last ${steps(last)}`}`;
}

/** "1 run, passed", "3 runs, last failed at 2/5", or "-". */
export function byAutopilot(entry: LabProgress | undefined): string {
  if (entry === undefined || entry.autopilotRuns === 0) return '-';
  const last = entry.lastAutopilotRun;
  if (last === null) return runs(entry.autopilotRuns);
  return `${runs(entry.autopilotRuns)}, ${entry.autopilotRuns === 1 ? '' : 'last '}${last.passed ? 'passed' : `failed at ${last.stepsPassed}/${last.steps}`}`;
}

const runs = (count: number): string => `${count} run${count === 1 ? '' : 's'}`;
const steps = (run: LabRun): string => `${run.stepsPassed}/${run.steps} steps${run.stepsByAutopilot > 0 ? ` (${run.stepsByAutopilot} by A)` : ''}`;

function table(progress: Progress, labs: typeof catalog): string {
  const rows = labs.map((lab) => {
    const entry = progress.labs[lab.id];
    return [lab.id, lab.title, lab.level, `${lab.minutes}`, byHand(entry), byAutopilot(entry)];
  });
  const header = ['lab', 'title', 'level', 'min', 'by hand', 'autopilot (--auto)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
