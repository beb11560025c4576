// The typed surface of the C++ addon (native/binding/), declared once. Nothing else imports the
// .node file; everything else goes through these types.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Model hyperparameters as the engine takes them (see native/model/config.h). */
/** How an inference engine stores its linear weights: f32, bf16, f16 or llama.cpp's q8_0 (blocks of 32, one scale). */
export type WeightsDtype = 'f32' | 'bf16' | 'f16' | 'q8_0';
export const WEIGHTS_DTYPES: readonly WeightsDtype[] = ['f32', 'bf16', 'f16', 'q8_0'];

export interface EngineConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxSeqLen: number;
  rmsEps: number;
  ropeTheta: number;
  ropeStyle: 'rotate-half' | 'interleaved';
  tiedEmbeddings: boolean;
  qkvBias: boolean;
  bosId: number;
  eosId: number;
}

export interface NativeGenerateOptions {
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  ignoreEos?: boolean;
  stop?: string[];
  bannedStrings?: string[];
  threads?: number;
  /** One seed per prompt (sequence b draws from stream seeds[b]); default seed + b. */
  seeds?: number[];
}

/** Streaming a generate call: tokens as they are sampled, and flags that end sequences early. */
export interface NativeGenerateStream {
  /** Called on the JS thread with the tokens sampled since the last call: sequence index and token id, pairwise. */
  onTokens?: (sequences: Int32Array, tokens: Int32Array) => void;
  /** One flag per prompt; set cancel[b] = 1 to end sequence b (it finishes as 'length' with the tokens it has). */
  cancel?: Uint8Array;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface NativeGenerateResult {
  ids: Int32Array[];
  logprobs: Float32Array[];
  finishReasons: FinishReason[];
}

export interface NativeModel {
  generate(
    prompts: ReadonlyArray<Int32Array | readonly number[]>,
    options?: NativeGenerateOptions,
    onProgress?: (generatedTokens: number, runningSequences: number) => void,
    stream?: NativeGenerateStream,
  ): Promise<NativeGenerateResult>;
  logProbs(
    prompts: ReadonlyArray<Int32Array | readonly number[]>,
    continuations: ReadonlyArray<Int32Array | readonly number[]>,
    options?: { threads?: number },
  ): Promise<Float32Array[]>;
  logits(ids: Int32Array | readonly number[], options?: { threads?: number }): Promise<Float32Array>;
  dispose(): void;
  readonly disposed: boolean;
  readonly parameterCount: number;
  /** Bytes of weights the engine holds (packed matrices in their dtype, plus the f32 embedding, norms and biases). */
  readonly weightBytes: number;
  readonly weightsDtype: WeightsDtype;
}

/** A right-padded batch: row b holds lengths[b] tokens, then padding, in a (B, T) grid. */
export interface TrainBatch {
  B: number;
  T: number;
  tokens: Int32Array;
  lengths: Int32Array;
}

/**
 * What forwardBackward minimises. Token-level arrays are (B * T): entry b*T + t belongs to the
 * prediction made at position t, i.e. of token t + 1 of row b.
 */
export type TrainLoss = (
  | { kind: 'sft'; weights: Float32Array }
  | { kind: 'preference'; targets: Float32Array }
  | { kind: 'policy'; oldLogprobs: Float32Array; advantages: Float32Array; mask: Float32Array; cliprange?: number; entropyCoef?: number }
  | { kind: 'value'; returns: Float32Array; oldValues: Float32Array; mask: Float32Array; cliprange?: number; coef?: number }
  | {
      kind: 'dpo';
      /** 1 on the response tokens of each row (rows 2i chosen, 2i + 1 rejected). */
      weights: Float32Array;
      /** (B / 2) probability that the chosen row is preferred (1 for hard labels; the sigmoid loss reads soft ones). */
      targets: Float32Array;
      /** (B / 2) summed reference log-probs of the chosen and rejected responses. */
      refChosen: Float32Array;
      refRejected: Float32Array;
      beta?: number;
      dpoLoss?: 'sigmoid' | 'ipo' | 'hinge';
    }
) & {
  /** Multiplies the gradient (not the reported loss), to weight micro-batches of one step. */
  scale?: number;
};

export type StatePart = 'weights' | 'baseWeights' | 'lora' | 'head' | 'adamM' | 'adamV' | 'gradients';

export interface LoraOptions {
  rank: number;
  alpha?: number;
  targets: Array<'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj'>;
}

export interface NativeTrainer {
  forwardBackward(batch: TrainBatch, loss: TrainLoss, options?: { threads?: number }): Promise<Record<string, number>>;
  evaluate(batch: TrainBatch, what: 'logprobs' | 'head' | 'rewards' | 'logits' | 'entropy', options?: { threads?: number; adapters?: boolean }): Promise<Float32Array>;
  /** clipNorm: the norm to clip by instead of this trainer's own (one clip over several trainers). */
  step(options: { lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number; maxGradNorm?: number; clipNorm?: number }): Promise<{ gradNorm: number; step: number }>;
  /** The norm of the gradients accumulated since the last step. */
  gradNorm(): Promise<number>;
  /**
   * KV-cache decoding from the trainer's own weights (adapters merged; adapters: false decodes the
   * frozen base of a LoRA trainer). packSeconds: time spent copying and packing the weights.
   */
  generate(
    prompts: ReadonlyArray<Int32Array | readonly number[]>,
    options?: NativeGenerateOptions & { adapters?: boolean },
  ): Promise<NativeGenerateResult & { packSeconds: number }>;
  zeroGrad(): Promise<void>;
  state<P extends StatePart>(parts: P[]): Promise<Record<P, Float32Array> & { step: number }>;
  loadState(state: { weights?: Float32Array; lora?: Float32Array; head?: Float32Array; adamM?: Float32Array; adamV?: Float32Array; step?: number }): Promise<void>;
  dispose(): void;
  /** weightsDtype: how the frozen base is stored; baseBytes: the memory its weights take. */
  readonly info: { trainableCount: number; parameterCount: number; loraRank: number; loraCount: number; hasHead: boolean; steps: number; weightsDtype: WeightsDtype; baseBytes: number };
}

export interface Addon {
  /**
   * weights: the engine's layout as f32, or as the raw bits of a bf16 / f16 checkpoint (a Uint16Array
   * with options.checkpointDtype), which a bf16 / f16 weightsDtype keeps bit for bit.
   */
  createModel(
    config: EngineConfig,
    weights: Float32Array | Uint16Array,
    pieces?: Uint8Array[],
    options?: { weightsDtype?: WeightsDtype; checkpointDtype?: 'f32' | 'bf16' | 'f16'; device?: string },
  ): Promise<NativeModel>;
  createTrainer(
    config: EngineConfig,
    weights: Float32Array | Uint16Array,
    /**
     * weightsDtype: store the frozen base bf16 / f16 / q8_0 (needs lora: the adapters train, in f32).
     * checkpointDtype: weights are a Uint16Array of a bf16 / f16 checkpoint's bits, packed without
     * widening the model (only the embedding, norms and head are widened).
     */
    options?: { lora?: LoraOptions; head?: 'scalar'; headWeights?: Float32Array; seed?: number; threads?: number; pieces?: Uint8Array[]; device?: string; weightsDtype?: WeightsDtype; checkpointDtype?: 'f32' | 'bf16' | 'f16' },
  ): Promise<NativeTrainer>;
  scheduleLr(kind: 'constant' | 'linear' | 'cosine', baseLr: number, step: number, total: number, warmup: number, minRatio?: number): number;
  /** The machine's FMA throughput and memory read bandwidth on `threads` threads (native/kernels/peak.h). */
  measurePeak(threads: number, seconds: number): Promise<{ fmaGflops: number; readGBps: number; vectorFloats: number }>;
  /** Whether a CUDA backend can be created here: built with it, a driver, a visible GPU; else why not. */
  cudaStatus(): { available: boolean; device?: string; reason?: string };
  /** Built with the CUDA backend (npm run build:native:cuda). */
  readonly cuda: boolean;
  readonly hardwareThreads: number;
  readonly simd: string;
  readonly openmp: boolean;
}

// src/native/ and dist/native/ both sit two levels below the package root.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [
  path.join(packageRoot, 'build', 'Release', 'rlcd.node'),
  path.join(packageRoot, 'build', 'Debug', 'rlcd.node'),
];

let cached: Addon | undefined;

/** Loads the addon once; throws with the build command when it has not been built. */
export function addon(): Addon {
  if (cached) return cached;
  const file = candidates.find((c) => existsSync(c));
  if (!file) {
    throw new Error(
      `rlcd: the native addon is not built (looked for ${candidates.join(', ')}). ` +
        'Run `npm run build:native` (cmake-js) or `npm run build:native:gyp` (node-gyp).',
    );
  }
  cached = createRequire(import.meta.url)(file) as Addon;
  return cached;
}
