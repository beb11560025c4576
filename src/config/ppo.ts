// Options of PPO against a preference model: `rlcd ppo`, runPpo(). Names follow TRL's PPOConfig;
// defaults follow the AlpacaFarm recipe RLCD used (SPEC.md section 4), except where a small model
// needs larger steps: lr and klCoef default by model size (see ppoDefaultsFor).
import { z } from 'zod';
import { flag, int, num, type ConfigOf, type ConfigInput } from './schema.js';
import { loraFields, runFields } from './train-common.js';

export const ppoFields = {
  policy: { schema: z.string().min(1), arg: 'PATH', doc: 'The base model to align (Hugging Face directory or llama2.c .bin); also the frozen reference.' },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer, when not beside the policy.' },
  reward: { schema: z.string().min(1), arg: 'PM_DIR', doc: 'A preference model written by rlcd train-pm: the reward, and the value model\'s initialisation (head zeroed).' },
  prompts: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Prompts: JSONL lines {"prompt": "..."} or HH lines (.jsonl or .jsonl.gz).' },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory: the policy (Hugging Face layout), metrics.jsonl, rollouts.jsonl, checkpoint/.' },
  task: { schema: z.string().min(1).optional(), arg: 'T', doc: 'Task whose stop rule says when a response has terminated and how prompts are normalised (e.g. positive-story); without one, only EOS terminates.' },
  steps: { schema: int(1, 1e6).default(60), arg: 'N', doc: 'PPO steps (paper: 40-80; more made outputs worse).' },
  rolloutBatchSize: { schema: int(1, 1 << 16).default(64), arg: 'B', doc: 'Rollouts per PPO step (paper: 512).' },
  numMiniBatches: { schema: int(1, 1 << 16).default(2), arg: 'M', doc: 'Minibatches per epoch; one optimizer step each (paper: 2 of 256).' },
  numPpoEpochs: { schema: int(1, 100).default(2), arg: 'E', doc: 'Passes over each step\'s rollouts (paper: 2).' },
  microBatchSize: { schema: int(1, 4096).default(32), arg: 'R', doc: 'Rows per forward/backward pass (memory); gradients accumulate to the minibatch.' },
  responseLength: { schema: int(1, 1 << 16).optional(), arg: 'T', doc: 'Most new tokens per rollout (default: the task\'s budget, else 300 as in the paper).' },
  maxQueryLength: { schema: int(1, 1 << 16).default(192), arg: 'T', doc: 'Prompts longer than this many tokens are dropped and counted (paper: 192).' },
  temperature: { schema: num(0.01, 100).default(1), arg: 'X', doc: 'Rollout sampling temperature (paper: 1).' },
  topP: { schema: num(1e-6, 1).default(1), arg: 'P', doc: 'Rollout nucleus sampling (paper: 1).' },
  ignoreEos: { schema: flag().default(false), doc: 'Never sample EOS: fixed-length rollouts (benchmarks).' },
  lr: { schema: num(0, 10).optional(), arg: 'X', doc: 'Peak learning rate, warmup then linear decay per PPO step (default by model size: 1e-4 under 20M parameters, else the paper\'s 1e-5).' },
  warmupSteps: { schema: int(0).default(5), arg: 'N', doc: 'PPO steps of linear learning-rate warmup (paper: 5).' },
  klCoef: { schema: num(0, 100).optional(), arg: 'BETA', doc: 'KL penalty coefficient (default by model size: 0.01 under 20M parameters, else 0.004; paper: 0.002-0.004).' },
  klEstimator: { schema: z.enum(['k1', 'k3']).default('k1'), arg: 'K', doc: 'Per-token KL estimator: k1 = logp - logp_ref, k3 = (r - 1) - log r.' },
  klClamp: { schema: flag().default(true), doc: 'Clamp k1 at 0 (AlpacaFarm/RLCD): a negative estimate never rewards drifting.' },
  adaptiveKl: { schema: flag().default(false), doc: 'Adapt klCoef toward klTarget (Ziegler et al.\'s controller) instead of keeping it fixed.' },
  klTarget: { schema: num(1e-6).default(6), arg: 'KL', doc: 'Target summed KL per rollout for the adaptive controller.' },
  klHorizon: { schema: num(1).default(10000), arg: 'H', doc: 'Horizon of the adaptive controller, in rollouts.' },
  cliprange: { schema: num(0, 10).default(0.2), arg: 'EPS', doc: 'PPO policy ratio clip (paper: 0.2).' },
  cliprangeValue: { schema: num(0, 1e6).default(0.2), arg: 'EPS', doc: 'Value clip around the rollout values (paper: 0.2).' },
  vfCoef: { schema: num(0, 1e3).default(0.1), arg: 'C', doc: 'Weight of the value loss (paper: 0.1).' },
  entropyCoef: { schema: num(0, 10).default(0), arg: 'C', doc: 'Entropy bonus weight (AlpacaFarm: 0).' },
  gamma: { schema: num(0, 1).default(1), arg: 'G', doc: 'Discount (paper: 1).' },
  lam: { schema: num(0, 1).default(1), arg: 'L', doc: 'GAE lambda (paper: 1).' },
  whitenRewards: { schema: flag().default(true), doc: 'Divide rewards by their standard deviation (mean kept), as AlpacaFarm does.' },
  missingEosPenalty: { schema: num(-1e6, 1e6).default(-1), arg: 'R', doc: 'Score given to a response that did not terminate or is empty (paper: -1; replaces the preference-model score).' },
  suffix: { schema: z.string().optional(), arg: 'TEXT', doc: 'Text after each response when scoring (default: the suffix stored with the preference model).' },
  maxLength: { schema: int(2, 1 << 20).default(512), arg: 'T', doc: 'Longest preference-model input in tokens (keeps BOS and the end).' },
  adamEps: { schema: num(1e-12, 1).default(1e-5), arg: 'EPS', doc: 'AdamW epsilon (paper: 1e-5).' },
  weightDecay: { schema: num(0, 10).default(0), arg: 'W', doc: 'AdamW weight decay (paper: 0).' },
  beta1: { schema: num(0, 0.999999).default(0.9), arg: 'B1', doc: 'AdamW beta1.' },
  beta2: { schema: num(0, 0.999999).default(0.999), arg: 'B2', doc: 'AdamW beta2.' },
  maxGradNorm: { schema: num(0).default(1), arg: 'N', doc: 'One clip of the global gradient norm over policy and value together (paper: 1).' },
  logRollouts: { schema: int(0, 1 << 16).default(4), arg: 'N', doc: 'Rollouts per step written to rollouts.jsonl.' },
  ...loraFields,
  ...runFields,
  saveEvery: { schema: int(0).default(20), arg: 'N', doc: 'Write a resumable checkpoint every N PPO steps (paper: 20; 0: only at the end).' },
};

export type PpoConfig = ConfigOf<typeof ppoFields>;
export type PpoOptions = ConfigInput<typeof ppoFields>;

/** Below this many parameters a model gets the small-model defaults (measured on tinystories-656k, docs/align.md). */
export const SMALL_MODEL_PARAMETERS = 20e6;

/** The learning rate and KL coefficient used when the options leave them out. */
export function ppoDefaultsFor(parameters: number): { lr: number; klCoef: number } {
  return parameters < SMALL_MODEL_PARAMETERS ? { lr: 1e-4, klCoef: 0.01 } : { lr: 1e-5, klCoef: 0.004 };
}
