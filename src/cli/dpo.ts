// rlcd dpo: DPO on simulated preference pairs (RLCD-DPO).
import { dpoFields } from '../config/dpo.js';
import { runDpo } from '../pipeline/dpo.js';
import { stageCommand } from './command.js';
import { eventReporter, fmt } from './train-report.js';

export const dpoCommand = () =>
  stageCommand('dpo', 'DPO on preference pairs (sigmoid, ipo or hinge loss; the base model is the reference).', dpoFields, async (cfg) => {
    const report = eventReporter('dpo', cfg.quiet, ['loss', 'rewards/accuracies', 'rewards/margins', 'lr', 'tokens_per_second']);
    try {
      const r = await runDpo(cfg, { onEvent: report.onEvent });
      report.stop();
      const resumed = r.resumedFrom > 0 ? ` (resumed at step ${r.resumedFrom})` : '';
      process.stderr.write(`dpo: ${r.pairs} pairs, ${r.steps} steps${resumed}; final loss ${fmt(r.final.loss ?? NaN)}, margin ${fmt(r.final['rewards/margins'] ?? NaN)}; policy in ${r.out}\n`);
    } finally {
      report.stop();
    }
  });
