import type { Command } from 'commander';
import { cliName, UsageError } from '../errors.js';
import { findPlanned, plannedCommands } from '../roadmap.js';

/** Width of the usage column in the "Coming" list; fits the longest usage with room to spare. */
const usageColumnWidth = 30;

/**
 * What `replica-lab` does with no command, and the part of `--help` that says
 * what works in this build and what is still to come. Until the TUI exists, no
 * command means "show the help".
 */
export function configureOverview(program: Command): void {
  program
    .allowExcessArguments(true)
    .addHelpText('after', () => overviewText(program))
    .action((_options: unknown, command: Command) => {
      const [first] = command.args;
      if (first !== undefined) throw unknownCommandError(program, first);
      program.outputHelp();
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
  const coming = plannedCommands.filter((planned) => planned.name === '' || !registered.has(planned.name));
  const lines = ['', `Works today: ${worksToday.join(', ')}.`];
  if (coming.length > 0) {
    lines.push('', 'Coming (not built yet):');
    for (const planned of coming) {
      const usage = `${cliName} ${planned.usage}`.trimEnd();
      lines.push(`  ${usage.padEnd(usageColumnWidth)}${planned.summary}`);
    }
  }
  if (coming.some((planned) => planned.name === '')) {
    lines.push('', `Until the dashboard exists, '${cliName}' with no command prints this help.`);
  }
  return lines.join('\n');
}
