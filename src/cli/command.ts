// Builds a subcommand from a stage's option fields: flags, validation and help from one place.
import { Command } from 'commander';
import { addFlags, parseConfig, type ConfigOf, type Fields } from '../config/schema.js';

export function stageCommand<F extends Fields>(
  name: string,
  description: string,
  fields: F,
  run: (config: ConfigOf<F>) => Promise<void>,
): Command {
  const cmd = new Command(name).description(description);
  addFlags(cmd, fields);
  cmd.action(async (opts: Record<string, unknown>) => {
    await run(parseConfig(fields, opts, 'cli'));
  });
  return cmd.exitOverride();
}
