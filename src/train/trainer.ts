// A model being trained: the native trainer (weights or LoRA adapters, optional scalar head, AdamW
// state) plus what saving needs (config, tokenizer, where it came from).
import { getDefaultDevice } from '../native/device.js';
import { addon, type EngineConfig, type LoraOptions, type WeightsDtype, type NativeGenerateOptions, type NativeGenerateResult, type NativeTrainer, type TrainBatch, type TrainLoss } from '../native/binding.js';
import { enginePieces, readCheckpoint, readCheckpointKeepingHalf, type Checkpoint } from '../model/load.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface TrainerOptions {
  tokenizer?: string;
  lora?: LoraOptions;
  head?: 'scalar';
  headWeights?: Float32Array;
  seed?: number;
  threads?: number;
  /** The frozen base's storage under LoRA: bf16, f16 or q8_0 (QLoRA-style); f32 by default. */
  weightsDtype?: WeightsDtype;
}

/** The trainer options every stage config carries (tokenizer, LoRA, seed, threads). */
export function trainerOptionsFrom(cfg: {
  tokenizer?: string | undefined; loraRank: number; loraAlpha?: number | undefined; loraTargets: LoraOptions['targets']; seed: number; threads?: number | undefined;
  weightsDtype?: WeightsDtype | undefined;
}): TrainerOptions {
  return {
    ...(cfg.tokenizer && { tokenizer: cfg.tokenizer }),
    ...(cfg.loraRank > 0 && { lora: { rank: cfg.loraRank, alpha: cfg.loraAlpha ?? 2 * cfg.loraRank, targets: cfg.loraTargets } }),
    ...(cfg.weightsDtype !== undefined && cfg.weightsDtype !== 'f32' && { weightsDtype: cfg.weightsDtype }),
    seed: cfg.seed,
    ...(cfg.threads !== undefined && { threads: cfg.threads }),
  };
}

export interface OptimizerSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

/** Only Trainer.fromModel makes trainers: `new Trainer()` from JS would otherwise build a broken one. */
const CREATE = Symbol('Trainer.create');

export class Trainer {
  private constructor(
    token: symbol,
    readonly native: NativeTrainer,
    readonly config: EngineConfig,
    readonly tokenizer: Tokenizer,
    readonly source: string,
    readonly format: Checkpoint['format'],
    readonly hfConfig: Record<string, unknown> | undefined,
    readonly tokenizerPath: string,
    readonly options: TrainerOptions,
  ) {
    if (token !== CREATE) throw new TypeError('a Trainer is made with Trainer.fromModel(path, options)');
  }

  static async fromModel(modelPath: string, options: TrainerOptions = {}): Promise<Trainer> {
    if (typeof modelPath !== 'string' || modelPath === '') throw new TypeError('modelPath must be a non-empty string');
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    // A narrow base takes a bf16 / f16 checkpoint as its own bits: the model is never widened whole.
    const narrow = options.weightsDtype !== undefined && options.weightsDtype !== 'f32';
    const tok = options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {};
    const ck = narrow ? await readCheckpointKeepingHalf(modelPath, tok) : await readCheckpoint(modelPath, tok);
    const native = await addon().createTrainer(ck.config, ck.weights.data, {
      ...(ck.weights.dtype !== 'f32' && { checkpointDtype: ck.weights.dtype }),
      pieces: enginePieces(ck),
      ...(options.lora && { lora: options.lora }),
      ...(options.head && { head: options.head }),
      ...(options.headWeights && { headWeights: options.headWeights }),
      seed: options.seed ?? 0,
      ...(options.threads !== undefined && { threads: options.threads }),
      ...(options.weightsDtype !== undefined && { weightsDtype: options.weightsDtype }),
      // The CLI's --device: the engine refuses cuda for training, saying why.
      ...(getDefaultDevice() !== 'cpu' && { device: getDefaultDevice() }),
    });
    return new Trainer(CREATE, native, ck.config, ck.tokenizer, modelPath, ck.format, ck.hfConfig, ck.tokenizerPath, options);
  }

  forwardBackward(batch: TrainBatch, loss: TrainLoss): Promise<Record<string, number>> {
    return this.native.forwardBackward(batch, loss, this.threadOption());
  }

  evaluate(batch: TrainBatch, what: 'logprobs' | 'head' | 'rewards' | 'logits' | 'entropy', adapters = true): Promise<Float32Array> {
    return this.native.evaluate(batch, what, { ...this.threadOption(), adapters });
  }

  /** clipNorm: clip by this norm (of several trainers' gradients together) instead of this trainer's own. */
  step(o: OptimizerSettings & { clipNorm?: number }): Promise<{ gradNorm: number; step: number }> {
    return this.native.step(o);
  }

  gradNorm(): Promise<number> {
    return this.native.gradNorm();
  }

  /** Samples from the trainer's current weights (adapters: false, the frozen base of a LoRA trainer). */
  generate(prompts: ReadonlyArray<readonly number[]>, options: Omit<NativeGenerateOptions, 'threads'> & { adapters?: boolean } = {}): Promise<NativeGenerateResult & { packSeconds: number }> {
    return this.native.generate(prompts, { ...options, ...this.threadOption() });
  }

  dispose(): void {
    this.native.dispose();
  }

  private threadOption(): { threads?: number } {
    return this.options.threads !== undefined ? { threads: this.options.threads } : {};
  }
}
