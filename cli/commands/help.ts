import type { Command } from 'commander';
import { unknownCommandError } from './overview.js';

/**
 * `replica-lab help [command]`. Ours rather than commander's built-in one so that
 * `help <typo>` is a one-line usage error like every other, not a page of help on stderr.
 */
export function registerHelp(program: Command): void {
  program
    .command('help')
    .argument('[command]', 'the command to describe')
    .description('print help for a command')
    .action((name: string | undefined) => {
      if (name === undefined) {
        program.outputHelp();
        return;
      }
      const command = program.commands.find(
        (candidate) => candidate.name() === name || candidate.aliases().includes(name),
      );
      if (command === undefined) throw unknownCommandError(name);
      command.outputHelp();
    });
}
