// `rlcd export`: a pair file (rlcd simulate's output, or any TRL-style preference JSONL) in the
// layouts the distributed RLHF engines read, so that a policy too big for this machine trains there
// on rlcd's data:
//   trl       preferences.jsonl: {"prompt", "chosen", "rejected"} (TRL's explicit-prompt preference
//             format, read by RewardTrainer and DPOTrainer); prompts.jsonl: {"prompt"} for PPO.
//   openrlhf  preferences.jsonl with the same keys (pass --prompt_key prompt --chosen_key chosen
//             --rejected_key rejected to train_rm), prompts.jsonl {"input"} for train_ppo_ray
//             (--input_key input), and train_rlcd.sh: reward-model training, then PPO with the
//             paper's settings (SPEC.md sections 3 and 4), to edit for a cluster.
//   verl      prompts.jsonl in verl's RL layout: {"data_source", "prompt": [{"role", "content"}],
//             "ability", "reward_model": {"style", "ground_truth"}, "extra_info": {"split", "index",
//             "chosen", "rejected", "p_chosen"}}.
// RLCD's soft labels (RLAIF, Rescore) travel as p_chosen where a format has room for it.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonl } from '../util/jsonl.js';
import { atomicWriteFile } from '../util/atomic.js';

export const EXPORT_FORMATS = ['trl', 'openrlhf', 'verl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface Pair {
  prompt: string;
  chosen: string;
  rejected: string;
  p_chosen: number;
}

function readPairs(file: string): Pair[] {
  const pairs = readJsonl(file).map(({ line, value: v }) => {
    if (typeof v.prompt !== 'string' || typeof v.chosen !== 'string' || typeof v.rejected !== 'string') {
      throw new Error(`${file}:${line}: expected {"prompt", "chosen", "rejected"} strings (rlcd simulate's output)`);
    }
    const p = v.p_chosen === undefined ? 1 : v.p_chosen;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`${file}:${line}: "p_chosen" must be a probability`);
    return { prompt: v.prompt, chosen: v.chosen, rejected: v.rejected, p_chosen: p };
  });
  if (pairs.length === 0) throw new Error(`${file}: no pairs`);
  return pairs;
}

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function launchScript(o: { model: string; task: string }): string {
  return `#!/usr/bin/env bash
# RLCD on OpenRLHF, written by rlcd export: reward model on rlcd's simulated pairs, then PPO with the
# paper's settings (RLCD, Yang et al. 2024, following AlpacaFarm). Edit the paths, the model and the
# Ray resources for your cluster; see https://github.com/OpenRLHF/OpenRLHF for every option.
set -euo pipefail
cd "$(dirname "$0")"
BASE=\${BASE:-${o.model}}   # the base model: simulator, reward-model backbone and policy start

# 1. Reward model: 1 epoch, lr 3e-6, cosine, warmup 3%, batch 16, max length 512 (SPEC section 3).
deepspeed --module openrlhf.cli.train_rm \\
  --pretrain "$BASE" --dataset preferences.jsonl \\
  --prompt_key prompt --chosen_key chosen --rejected_key rejected \\
  --max_epochs 1 --learning_rate 3e-6 --lr_warmup_ratio 0.03 --train_batch_size 16 --micro_train_batch_size 4 \\
  --max_len 512 --bf16 --zero_stage 2 --gradient_checkpointing --save_path ./rm

# 2. PPO: 512 rollouts a step, 2 epochs over minibatches of 256, lr 1e-5, fixed KL 0.004 (the paper
#    recommends 0.002-0.004), temperature 1, prompts <= 192 tokens, responses <= 300, 40-80 steps.
python3 -m openrlhf.cli.train_ppo_ray \\
  --pretrain "$BASE" --reward_pretrain ./rm --critic_pretrain ./rm \\
  --prompt_data prompts.jsonl --input_key input \\
  --rollout_batch_size 512 --train_batch_size 256 --max_epochs 2 \\
  --actor_learning_rate 1e-5 --critic_learning_rate 1e-5 --init_kl_coef 0.004 \\
  --temperature 1.0 --prompt_max_len 192 --generate_max_len 300 --num_episodes 1 \\
  --normalize_reward --bf16 --zero_stage 2 --save_path ./policy
# task: ${o.task}
`;
}

export interface ExportResult {
  out: string;
  files: string[];
  pairs: number;
  prompts: number;
}

/** Writes OUT/ in `format`; refuses to write into a directory holding other files. */
export function exportPairs(o: { pairs: string; format: ExportFormat; out: string; model?: string; task?: string }): ExportResult {
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) throw new RangeError(`format must be one of ${EXPORT_FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`);
  const pairs = readPairs(o.pairs);
  if (path.resolve(o.out) === path.resolve(path.dirname(o.pairs)) || path.resolve(o.out) === path.resolve(o.pairs)) throw new RangeError(`--out ${o.out} holds the input ${o.pairs}; choose another directory`);
  if (fs.existsSync(o.out) && fs.readdirSync(o.out).some((f) => !['preferences.jsonl', 'prompts.jsonl', 'train_rlcd.sh'].includes(f))) {
    throw new RangeError(`--out ${o.out} holds files rlcd export did not write; choose a new or empty directory`);
  }
  fs.mkdirSync(o.out, { recursive: true });
  const prompts = [...new Set(pairs.map((p) => p.prompt))];
  const files: string[] = [];
  const write = (name: string, text: string): void => {
    atomicWriteFile(path.join(o.out, name), text);
    files.push(path.join(o.out, name));
  };
  if (o.format === 'trl') {
    write('preferences.jsonl', jsonl(pairs.map((p) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, p_chosen: p.p_chosen }))));
    write('prompts.jsonl', jsonl(prompts.map((prompt) => ({ prompt }))));
  } else if (o.format === 'openrlhf') {
    write('preferences.jsonl', jsonl(pairs.map((p) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, p_chosen: p.p_chosen }))));
    write('prompts.jsonl', jsonl(prompts.map((input) => ({ input }))));
    write('train_rlcd.sh', launchScript({ model: o.model ?? 'BASE_MODEL', task: o.task ?? 'unknown' }));
    fs.chmodSync(path.join(o.out, 'train_rlcd.sh'), 0o755);
  } else {
    write('prompts.jsonl', jsonl(pairs.map((p, index) => ({
      data_source: `rlcd/${o.task ?? 'preferences'}`,
      prompt: [{ role: 'user', content: p.prompt }],
      ability: 'alignment',
      reward_model: { style: 'model', ground_truth: '' },
      extra_info: { split: 'train', index, chosen: p.chosen, rejected: p.rejected, p_chosen: p.p_chosen },
    }))));
  }
  return { out: o.out, files, pairs: pairs.length, prompts: prompts.length };
}
