// `replica-lab labs`: the guided labs with the person's progress, as a table
// or (--json) as `[{ "id", "title", "minutes", "concepts", "done" }]`.

import type { Command } from 'commander';
import { labs, ProgressFileError, ProgressStore, emptyProgress, type Progress } from '../../labs/index.js';
import { cliName } from '../errors.js';

interface LabsFlags {
  readonly json?: boolean;
}

export function registerLabs(program: Command): void {
  program
    .command('labs')
    .description('list the guided labs and your progress')
    .option('--json', 'print [{ "id", "title", "minutes", "concepts", "done" }]')
    .addHelpText('after', `\nProgress is kept in $XDG_STATE_HOME/${cliName}/progress.json (default ~/.local/state/${cliName}).\nRun a lab's autopilot with '${cliName} lab <id> --auto'.`)
    .action((flags: LabsFlags) => {
      const store = new ProgressStore();
      const progress = readOrWarn(store);
      if (flags.json === true) {
        const list = labs.map((lab) => ({ id: lab.id, title: lab.title, minutes: lab.minutes, concepts: [...lab.concepts], done: progress.labs[lab.id]?.done === true }));
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      process.stdout.write(table(progress));
      process.stdout.write(`\nRun one: '${cliName} lab <id> --auto' (the autopilot does it, headless). Progress: ${store.path}\n`);
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

function table(progress: Progress): string {
  const rows = labs.map((lab) => {
    const entry = progress.labs[lab.id];
    const state = entry?.done === true ? `done ${entry.completedAt?.slice(0, 10) ?? ''}`.trim() : entry?.lastRun?.autopilot === true ? `autopilot ${entry.lastRun.passed ? 'passed' : 'failed'}` : '-';
    return [lab.id, lab.title, lab.level, `${lab.minutes}`, state];
  });
  const header = ['lab', 'title', 'level', 'min', 'progress'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
