import type { Command } from 'commander';
import { cliName, UsageError } from '../errors.js';
import { addDashboardOptions, runDashboardCommand, type DashboardFlags } from './dashboard.js';

/**
 * What `replica-lab` does with no command (opens the dashboard on a new
 * cluster), and the part of `--help` that says what works in this build.
 */
export function configureOverview(program: Command): void {
  addDashboardOptions(program);
  program
    // The dashboard's --nodes, --mode, … belong to the root only before a command:
    // `replica-lab sim --nodes 5` is sim's --nodes.
    .enablePositionalOptions()
    .allowExcessArguments(true)
    .addHelpText('after', () => overviewText(program))
    .action(async (flags: DashboardFlags, command: Command) => {
      const [first] = command.args;
      if (first !== undefined) throw unknownCommandError(first);
      await runDashboardCommand(flags);
    });
}

export function unknownCommandError(name: string): UsageError {
  return new UsageError(`unknown command '${name}'`);
}

function usageOf(command: Command): string {
  const operands = command.registeredArguments.map((argument) =>
    argument.required ? `<${argument.name()}>` : `[${argument.name()}]`,
  );
  return [command.name(), ...operands].join(' ');
}

function overviewText(program: Command): string {
  const worksToday = ['--help', '--version', ...program.commands.map(usageOf)];
  const lines = [
    '',
    `With no command, ${cliName} starts a 3-node cluster (quorum, flushed, Raft failover) with a light`,
    'workload in a temporary dir and opens the dashboard on it; the options above change that.',
    `Press ? in the dashboard for its keys. Without a terminal, use '${cliName} start --headless'.`,
    '',
    `Works today: the dashboard, ${worksToday.join(', ')}.`,
  ];
  return lines.join('\n');
}
