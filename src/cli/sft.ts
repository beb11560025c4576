// rlcd sft: supervised fine-tuning (the context-distillation baseline).
import { sftFields } from '../config/sft.js';
import { runSft } from '../pipeline/sft.js';
import { stageCommand } from './command.js';
import { eventReporter } from './train-report.js';

export const sftCommand = () =>
  stageCommand('sft', 'Supervised fine-tuning on {"prompt", "completion"} lines, loss on the completion only.', sftFields, async (cfg) => {
    const report = eventReporter('sft', cfg.quiet, ['loss', 'lr', 'grad_norm', 'tokens_per_second']);
    try {
      const r = await runSft(cfg, { onEvent: report.onEvent });
      report.stop();
      const resumed = r.resumedFrom > 0 ? ` (resumed at step ${r.resumedFrom})` : '';
      process.stderr.write(`sft: ${r.examples} examples, ${r.steps} steps${resumed}, final loss ${r.finalLoss.toFixed(4)}; model in ${r.out}\n`);
    } finally {
      report.stop();
    }
  });
