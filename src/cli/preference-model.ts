// rlcd train-pm and rlcd eval-pm: the preference model and its agreement with labelled pairs.
import { evalPmFields, trainPmFields } from '../config/preference-model.js';
import { evaluatePreferenceModel, trainPreferenceModel, type Agreement } from '../pipeline/preference-model.js';
import { stageCommand } from './command.js';
import { progressBar } from './progress.js';
import { eventReporter } from './train-report.js';

const describe = (a: Agreement): string =>
  `accuracy ${(100 * a.accuracy).toFixed(1)}%, mean P(chosen) ${a.meanProb.toFixed(4)}, margin ${a.margin.toFixed(4)} (${a.pairs} pairs)`;

export const trainPmCommand = () =>
  stageCommand('train-pm', 'Train a preference model (Bradley-Terry, scalar head on the last token) on preference pairs.', trainPmFields, async (cfg) => {
    const report = eventReporter('train-pm', cfg.quiet, ['loss', 'accuracy', 'lr', 'grad_norm', 'tokens_per_second']);
    try {
      const r = await trainPreferenceModel(cfg, { onEvent: report.onEvent });
      report.stop();
      const resumed = r.resumedFrom > 0 ? ` (resumed at step ${r.resumedFrom})` : '';
      process.stderr.write(`train-pm: ${r.trainPairs} training pairs, ${r.steps} steps${resumed}; model in ${r.out}\n`);
      if (r.heldOut) process.stdout.write(`held-out: ${describe(r.heldOut)}\n`);
    } finally {
      report.stop();
    }
  });

export const evalPmCommand = () =>
  stageCommand('eval-pm', 'Agreement of a preference model with labelled pairs (accuracy, mean sigmoid(r_chosen - r_rejected)).', evalPmFields, async (cfg) => {
    const bar = progressBar('eval-pm', 'pairs', cfg.quiet || cfg.json);
    try {
      const a = await evaluatePreferenceModel(cfg, { onEvent: (e) => bar.update(e.step, e.total) });
      bar.stop();
      process.stdout.write(cfg.json ? JSON.stringify(a) + '\n' : describe(a) + '\n');
    } finally {
      bar.stop();
    }
  });
