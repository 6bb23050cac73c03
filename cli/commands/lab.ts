// `replica-lab lab <id> [--auto [--json]] [--data-dir <dir>]`: runs a lab's
// autopilot on a real cluster, prints each step's check and the debrief, exits
// 0 only if every check passed. Without --auto the lab needs the dashboard's
// lab panel. Either way it ends by saying where the history and the rollback
// files are, or that the temporary dir went with them.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { describeEvidence, findLab, findReplayLab, labEngineRefusal, labEngines, labIds, labOn, ProgressStore, runLabAuto, runReplayAuto, type AutoStepResult, type LabEntry, type LabSession, type ReplayLab } from '../../labs/index.js';
import type { EngineKind } from '../../cluster/index.js';
import { cliName, UsageError } from '../errors.js';
import { addEngineOptions, loadEngine, parseEngineFlags, type EngineChoice, type EngineFlags } from '../engine.js';

interface LabFlags extends EngineFlags {
  readonly auto?: boolean;
  readonly json?: boolean;
  readonly dataDir?: string;
}

/** The --data-dir to use: absolute, and new or empty (a dir with an old cluster in it would be recovered, not started afresh). */
export function labDataDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const path = resolve(dir);
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) throw new UsageError(`--data-dir ${dir} is not a directory`, { seeHelp: false });
    if (readdirSync(path).length > 0) throw new UsageError(`--data-dir ${dir} is not empty; give a new or empty dir (each cluster of the lab goes in <dir>/cluster-<n>)`, { seeHelp: false });
  }
  return path;
}

export function registerLab(program: Command): void {
  const command = program
    .command('lab')
    .argument('<id>', `the lab: ${labIds.join(', ')}`)
    .description('run a guided lab (--auto: its autopilot, headless)')
    .option('--auto', 'let the autopilot do every step on a real cluster and check each one')
    .option('--json', 'with --auto: print { "id", "passed", "steps": [{ "title", "passed", "detail" }] }')
    .option('--data-dir <dir>', 'keep the nodes\' data, the workload history and the rollback files in this new or empty dir (default: a temporary dir, removed at the end)');
  addEngineOptions(command)
    .addHelpText('after', `\nExit status: 0 when every step's check passed, 1 when one did not.\nList the labs with '${cliName} labs'.`)
    .action(async (id: string, flags: LabFlags) => {
      const chosen = parseEngineFlags(flags, 'lab');
      const replay = findReplayLab(id);
      if (replay !== undefined) {
        refuseEngine(replay, chosen.kind);
        return runReplay(replay, flags);
      }
      const found = findLab(id);
      if (found === undefined) throw new UsageError(`unknown lab '${id}'; the labs are ${labIds.join(', ')}`, { seeHelp: false });
      const lab = found;
      const engine = labEngine(lab, chosen, command.getOptionValueSource('engine') !== 'default');
      refuseEngine(lab, engine.kind);
      // An engine this build or machine lacks is said before anything starts.
      const startCluster = await loadEngine(engine, 'lab');
      const on = { engine: engine.kind, startCluster };
      const dataDir = labDataDir(flags.dataDir);
      if (flags.auto !== true) {
        const { runInteractiveLab } = await import('./lab-interactive.js');
        return runInteractiveLab(lab, dataDir, on);
      }
      const json = flags.json === true;
      // The lab as it runs on this engine: a variant's own summary, minutes and steps.
      const shown = labOn(lab, engine.kind);
      if (!json) process.stdout.write(`${shown.title} (${shown.id}, ${shown.level}, about ${shown.minutes} min)\n${shown.summary}\n\n`);
      let session: LabSession | null = null;
      const onSignal = (): void => {
        void (session?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const result = await runLabAuto(lab, {
          progress: new ProgressStore(),
          ...on,
          ...(dataDir === undefined ? {} : { dataDir }),
          onSession: (s) => {
            session = s;
          },
          onStep: (index, step) => {
            if (!json) process.stdout.write(stepLine(index, shown.steps.length, step));
          },
        });
        if (json) {
          process.stdout.write(`${JSON.stringify({ id: lab.id, passed: result.passed, steps: result.steps.map(({ title, passed, detail }) => ({ title, passed, detail })) })}\n`);
        } else {
          process.stdout.write(`\nDebrief\n${result.debrief.map((line) => `  ${line}`).join('\n')}\n\n`);
          process.stdout.write(`${describeEvidence(result.evidence, `${cliName} lab ${lab.id} --auto`).join('\n')}\n\n`);
          const passed = result.steps.filter((s) => s.passed).length;
          process.stdout.write(`${result.passed ? 'passed' : 'FAILED'}: ${passed} of ${result.steps.length} checks passed in ${(result.summary.elapsedMs / 1000).toFixed(1)} s\n`);
        }
        process.exitCode = result.passed ? 0 : 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/**
 * The engine a lab runs on: the one asked for with --engine; without it, the
 * default (replica-lab), unless the lab runs on one other engine only
 * (pg-sync-cancel runs on PostgreSQL): then that one.
 */
export function labEngine(lab: Pick<LabEntry, 'engines'>, chosen: EngineChoice, given: boolean): EngineChoice {
  const engines = labEngines(lab);
  if (given || engines.includes(chosen.kind) || engines.length !== 1) return chosen;
  return { kind: engines[0]! };
}

/** A lab not offered on the engine asked for: one line saying where it runs and the flag that runs it there, exit 2. */
function refuseEngine(lab: LabEntry, engine: EngineKind): void {
  const refusal = labEngineRefusal(lab, engine);
  if (refusal !== null) throw new UsageError(`${refusal}; run it with --engine ${labEngines(lab)[0]!}`, { seeHelp: false });
}

/** A replay lab (figure-8) runs in the simulator: no cluster, no data dir, no process. */
async function runReplay(lab: ReplayLab, flags: LabFlags): Promise<void> {
  if (flags.dataDir !== undefined) throw new UsageError(`lab ${lab.id} replays the simulator and keeps no data: --data-dir does not apply`, { seeHelp: false });
  if (flags.auto !== true) {
    const { runInteractiveReplay } = await import('./lab-interactive.js');
    return runInteractiveReplay(lab);
  }
  const json = flags.json === true;
  if (!json) process.stdout.write(`${lab.title} (${lab.id}, ${lab.level}, about ${lab.minutes} min)\n${lab.summary}\n\n`);
  const result = runReplayAuto(lab, new ProgressStore());
  if (json) {
    process.stdout.write(`${JSON.stringify({ id: lab.id, passed: result.passed, steps: result.steps })}\n`);
  } else {
    result.steps.forEach((step, index) => process.stdout.write(`${step.passed ? '✓' : '✗'} ${index + 1}/${result.steps.length} ${step.title}: ${step.detail}\n`));
    process.stdout.write(`\nDebrief\n${result.debrief.map((line) => `  ${line}`).join('\n')}\n\n`);
    const passed = result.steps.filter((s) => s.passed).length;
    process.stdout.write(`${result.passed ? 'passed' : 'FAILED'}: ${passed} of ${result.steps.length} checks passed (a replay in the simulator: no process was started)\n`);
  }
  process.exitCode = result.passed ? 0 : 1;
}

function stepLine(index: number, count: number, step: AutoStepResult): string {
  const mark = step.passed ? '✓' : '✗';
  return `${mark} ${index + 1}/${count} ${step.title}: ${step.detail}\n`;
}
