import type { Command } from 'commander';
import { cliName, UsageError } from '../errors.js';
import { findPlanned, plannedCommands } from '../roadmap.js';
import { addDashboardOptions, runDashboardCommand, type DashboardFlags } from './dashboard.js';

/** Width of the usage column in the "Coming" list; fits the longest usage with room to spare. */
const usageColumnWidth = 30;

/**
 * What `replica-lab` does with no command (opens the dashboard on a new
 * cluster), and the part of `--help` that says what works in this build and
 * what is still to come.
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
      if (first !== undefined) throw unknownCommandError(program, first);
      await runDashboardCommand(flags);
    });
}

/** A typo and a command that is only planned deserve different answers. */
export function unknownCommandError(program: Command, name: string): UsageError {
  const planned = findPlanned(name);
  if (planned !== undefined) {
    return new UsageError(`'${name}' is planned but not built yet in version ${program.version() ?? '?'}`);
  }
  return new UsageError(`unknown command '${name}'`);
}

function usageOf(command: Command): string {
  const operands = command.registeredArguments.map((argument) =>
    argument.required ? `<${argument.name()}>` : `[${argument.name()}]`,
  );
  return [command.name(), ...operands].join(' ');
}

function overviewText(program: Command): string {
  const registered = new Set(program.commands.map((command) => command.name()));
  const worksToday = ['--help', '--version', ...program.commands.map(usageOf)];
  const coming = plannedCommands.filter((planned) => !registered.has(planned.name));
  const lines = [
    '',
    `With no command, ${cliName} starts a 3-node cluster (quorum, flushed, Raft failover) with a light`,
    'workload in a temporary dir and opens the dashboard on it; the options above change that.',
    `Press ? in the dashboard for its keys. Without a terminal, use '${cliName} start --headless'.`,
    '',
    `Works today: the dashboard, ${worksToday.join(', ')}.`,
  ];
  if (coming.length > 0) {
    lines.push('', 'Coming (not built yet):');
    for (const planned of coming) {
      const usage = `${cliName} ${planned.usage}`.trimEnd();
      lines.push(`  ${usage.padEnd(usageColumnWidth)}${planned.summary}`);
    }
  }
  return lines.join('\n');
}
