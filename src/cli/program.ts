// The rlcd command line: one subcommand per file in this folder.
import { Command, Option } from 'commander';
import { setDefaultDevice, type Device } from '../native/device.js';
import { createRequire } from 'node:module';
import { exportOnnxCommand } from './export-onnx.js';
import { exportGgufCommand } from './export-gguf.js';
import { generateCommand } from './generate.js';
import { simulateCommand } from './simulate.js';
import { sftCommand } from './sft.js';
import { evalPmCommand, trainPmCommand } from './preference-model.js';
import { benchCommand } from './bench.js';
import { ppoCommand } from './ppo.js';
import { dpoCommand } from './dpo.js';
import { alignCommand } from './align.js';
import { compareCommand, reportCommand } from './compare.js';
import { demoCommand } from './demo.js';
import { serveCommand } from './serve.js';
import { exportCommand, serveRewardCommand } from './export.js';
import { evaluateCommand } from './evaluate.js';
import { pullCommand } from './pull.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The whole command line; main.ts runs it, tests walk its commands and options. */
export function buildProgram(): Command {
  const program = new Command('rlcd')
    .description('RLCD language-model alignment for Node.js: simulate preferences, train a preference model, PPO; evaluate and compare. Start with `rlcd demo`.')
    .version(version)
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    // Every command takes --device (before or after its name): where the native engine runs.
    .addOption(new Option('--device <D>', "Where the native engine runs: cpu, or cuda / cuda:N (an addon built with `npm run build:native:cuda` and a visible GPU).").default('cpu'))
    .configureHelp({ showGlobalOptions: true })
    .hook('preAction', (root) => setDefaultDevice(root.opts().device as Device));
  program.addCommand(pullCommand());
  program.addCommand(generateCommand().exitOverride());
  program.addCommand(simulateCommand().exitOverride());
  program.addCommand(exportOnnxCommand().exitOverride());
  program.addCommand(exportGgufCommand());
  program.addCommand(sftCommand());
  program.addCommand(trainPmCommand());
  program.addCommand(evalPmCommand());
  program.addCommand(ppoCommand());
  program.addCommand(dpoCommand());
  program.addCommand(alignCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(demoCommand());
  program.addCommand(compareCommand());
  program.addCommand(reportCommand());
  program.addCommand(serveCommand());
  program.addCommand(serveRewardCommand());
  program.addCommand(exportCommand());
  program.addCommand(benchCommand());
  // Each command's --help lists --device too.
  for (const command of program.commands) command.configureHelp({ ...command.configureHelp(), showGlobalOptions: true });
  return program;
}
