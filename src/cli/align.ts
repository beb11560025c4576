// rlcd align: the whole pipeline (simulate -> preference model -> PPO, or DPO, or context distillation).
import { alignFields } from '../config/align.js';
import { alignWithRLCD } from '../pipeline/align.js';
import type { StageEvent } from '../pipeline/stage.js';
import { stageCommand } from './command.js';
import { PPO_PROGRESS_KEYS } from './ppo.js';
import { eventReporter } from './train-report.js';

const KEYS: Record<string, readonly string[]> = {
  simulate: ['pairs', 'dropped'],
  'train-pm': ['loss', 'accuracy', 'tokens_per_second'],
  ppo: PPO_PROGRESS_KEYS,
  dpo: ['loss', 'rewards/accuracies', 'rewards/margins'],
  sft: ['loss', 'tokens_per_second'],
};

export const alignCommand = () =>
  stageCommand('align', 'The whole RLCD pipeline: simulate preference pairs, train a preference model, PPO (or DPO, or context distillation).', alignFields, async (cfg) => {
    const bars = new Map<string, ReturnType<typeof eventReporter>>();
    const onEvent = (e: StageEvent): void => {
      let bar = bars.get(e.stage);
      if (!bar) {
        for (const b of bars.values()) b.stop();
        bar = eventReporter(e.stage, cfg.quiet, KEYS[e.stage]);
        bars.set(e.stage, bar);
      }
      bar.onEvent(e);
    };
    try {
      const s = await alignWithRLCD(cfg, { onEvent });
      for (const b of bars.values()) b.stop();
      const ran = Object.entries(s.stages).map(([k, v]) => `${k} ${Number(v.seconds ?? 0).toFixed(0)} s`).join(', ');
      process.stderr.write(`align: ${ran}; peak RSS ${s.peakRssMb.toFixed(0)} MB; policy in ${s.policy}\n`);
    } finally {
      for (const b of bars.values()) b.stop();
    }
  });
