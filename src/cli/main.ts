#!/usr/bin/env node
// The rlcd command line's entry point: errors are one line on stderr and a non-zero exit.
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { reportHubPullsOnStderr } from './pull.js';

reportHubPullsOnStderr();
try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`rlcd: ${(e as Error).message.split('\n')[0]}\n`);
  process.exit(1);
}
