#!/usr/bin/env node
import { Command } from 'commander';
import { registerBench } from './commands/bench.js';
import { registerCheck } from './commands/check.js';
import { registerHelp } from './commands/help.js';
import { registerLab } from './commands/lab.js';
import { registerLabs } from './commands/labs.js';
import { registerNemesis } from './commands/nemesis.js';
import { registerQuiz } from './commands/quiz.js';
import { registerSim } from './commands/sim.js';
import { registerStart } from './commands/start.js';
import { registerTrace } from './commands/trace.js';
import { configureOverview } from './commands/overview.js';
import { runMain } from './errors.js';
import { readPackageInfo } from './package-info.js';

/** A command module adds one subcommand with `program.command(...)`; it holds no cluster logic. */
type RegisterCommand = (program: Command) => void;

/**
 * Every subcommand, in the order `--help` lists them. To add one, write
 * cli/commands/<name>.ts exporting `register<Name>(program)` and list it here,
 * above `registerHelp` so that `help` stays last in the list.
 */
const commandRegistrations: readonly RegisterCommand[] = [registerStart, registerSim, registerBench, registerNemesis, registerTrace, registerCheck, registerLabs, registerLab, registerQuiz, registerHelp];

/** Builds the whole command line: shared settings first, so every subcommand inherits them. */
function buildProgram(): Command {
  const info = readPackageInfo();
  const program = new Command(info.name)
    .description(info.description)
    .version(info.version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print help and exit')
    .usage('[options] [command]')
    // cli/commands/help.ts replaces commander's built-in help command.
    .helpCommand(false)
    // Errors are thrown to runMain, which prints them as one line; commander prints nothing itself.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
  for (const register of commandRegistrations) register(program);
  // Last, so the root's allowExcessArguments is not inherited by the subcommands above.
  configureOverview(program);
  return program;
}

await runMain(async () => {
  await buildProgram().parseAsync(process.argv);
});
