// rlcd demo: the whole RLCD story on the built-in model, with nothing to download. It runs
// compare() on models/rlcd-story-base with its own premises (a training split and a held-out split
// shipped beside the weights): base, context distillation, RLAIF-PPO, RLCD-PPO and RLCD-DPO, judged
// by the lexicon judge, and writes results.json, results.md and report.html. `quick` trades
// premises and steps for time (about a minute on 2 cores against about five).
import path from 'node:path';
import type { CompareMethod } from '../config/compare.js';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME } from '../model/default-model.js';
import { checkHooks, type StageHooks } from '../pipeline/stage.js';
import { compare, type CompareResult } from './compare.js';

export interface DemoOptions {
  /** Output directory (default: rlcd-demo, or rlcd-demo-quick with `quick`). */
  out?: string;
  quick?: boolean;
  threads?: number;
}

/** What each mode runs: methods, premises, and the stage settings it changes from the defaults. */
export function demoSettings(quick: boolean) {
  const methods: CompareMethod[] = quick ? ['base', 'rlaif', 'rlcd'] : ['base', 'context-distillation', 'rlaif', 'rlcd', 'rlcd-dpo'];
  return {
    methods,
    /** Premises simulated (each pairsPerPrompt times) and held-out premises judged. */
    trainPremises: quick ? 120 : 200,
    evalPremises: quick ? 60 : 200,
    pairsPerPrompt: quick ? 1 : 4,
    ppo: quick ? { steps: 20 } : { steps: 60 },
    pm: quick ? { epochs: 2 } : {},
  };
}

export async function demo(options: DemoOptions = {}, hooks: StageHooks = {}): Promise<CompareResult> {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { out?, quick?, threads? }');
  const { onEvent } = checkHooks(hooks);
  const quick = options.quick === true;
  const s = demoSettings(quick);
  return compare(
    {
      task: 'positive-story', model: DEFAULT_MODEL_NAME,
      // The shipped premise files hold 200 each; simulate's n and evalLimit take the first ones.
      prompts: path.join(DEFAULT_MODEL_DIR, 'premises-train.jsonl'), evalPrompts: path.join(DEFAULT_MODEL_DIR, 'premises-eval.jsonl'), evalLimit: s.evalPremises,
      out: options.out ?? (quick ? 'rlcd-demo-quick' : 'rlcd-demo'), methods: s.methods, pairsPerPrompt: s.pairsPerPrompt,
      simulate: { n: s.trainPremises * s.pairsPerPrompt }, ppo: s.ppo, pm: s.pm, quiet: true,
      ...(options.threads !== undefined && { threads: options.threads }),
    },
    onEvent ? { onEvent } : {},
  );
}
