// rlcd ppo: PPO of a policy against a preference model.
import { ppoFields } from '../config/ppo.js';
import { runPpo } from '../pipeline/ppo.js';
import { stageCommand } from './command.js';
import { eventReporter } from './train-report.js';

export const PPO_PROGRESS_KEYS = ['objective/scores', 'objective/kl', 'policy/clipfrac_avg', 'response_length', 'termination_rate', 'tokens_per_second'];

export const ppoCommand = () =>
  stageCommand('ppo', 'PPO of a policy against a preference model (AlpacaFarm recipe: KL to the reference, value model from the PM, GAE).', ppoFields, async (cfg) => {
    const report = eventReporter('ppo', cfg.quiet, PPO_PROGRESS_KEYS);
    try {
      const r = await runPpo(cfg, { onEvent: report.onEvent });
      report.stop();
      const resumed = r.resumedFrom > 0 ? ` (resumed at step ${r.resumedFrom})` : '';
      const f = r.final;
      process.stderr.write(
        `ppo: ${r.steps} steps${resumed} on ${r.prompts} prompts (${r.droppedPrompts} too long, dropped), ${r.seconds.toFixed(0)} s; ` +
          `final score ${f['objective/scores']?.toFixed(3)}, KL ${f['objective/kl']?.toFixed(3)}; policy in ${r.out}\n`,
      );
    } finally {
      report.stop();
    }
  });
