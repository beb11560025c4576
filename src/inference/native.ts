// The native C++ engine as an inference backend.
import { addon, type EngineConfig, type NativeModel, type WeightsDtype } from '../native/binding.js';
import type { PackedWeights } from '../model/layout.js';
import type { Device } from '../native/device.js';
import type { IdCompletion, IdGenerateOptions, InferenceBackend } from './backend.js';

export class NativeBackend implements InferenceBackend {
  readonly name = 'native';

  private constructor(readonly config: EngineConfig, private readonly model: NativeModel) {}

  /**
   * Copies the weights into the engine (off the event loop). `pieces` enables stop/banned strings;
   * `weightsDtype` stores the linear weights as bf16, f16 or q8_0 (f32 by default). Weights held as
   * a bf16 / f16 checkpoint's bits are packed from those bits.
   */
  static async create(
    config: EngineConfig,
    weights: Float32Array | PackedWeights | PackedWeights<Uint16Array>,
    pieces?: Uint8Array[],
    weightsDtype: WeightsDtype = 'f32',
    device: Device = 'cpu',
  ): Promise<NativeBackend> {
    const [data, checkpointDtype] = weights instanceof Float32Array ? [weights, 'f32' as const] : [weights.data, weights.dtype];
    return new NativeBackend(config, await addon().createModel(config, data, pieces, { weightsDtype, checkpointDtype, device }));
  }

  /** The engine's model handle, for callers that stream tokens or batch requests themselves (rlcd serve). */
  get native(): NativeModel {
    return this.model;
  }

  get parameterCount(): number {
    return this.model.parameterCount;
  }

  async generate(prompts: readonly (readonly number[])[], o: IdGenerateOptions, onProgress?: (generatedTokens: number) => void): Promise<IdCompletion[]> {
    const r = await this.model.generate(
      prompts,
      {
        maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed,
        ignoreEos: o.ignoreEos, stop: o.stop, bannedStrings: o.bannedStrings,
        ...(o.threads !== undefined && { threads: o.threads }),
      },
      onProgress && ((tokens) => onProgress(tokens)),
    );
    return r.ids.map((ids, i) => ({ ids: Array.from(ids), logprobs: Array.from(r.logprobs[i]!), finishReason: r.finishReasons[i]! }));
  }

  async logProbs(prompts: readonly (readonly number[])[], continuations: readonly (readonly number[])[], options: { threads?: number } = {}): Promise<number[][]> {
    const out = await this.model.logProbs(prompts, continuations, options);
    return out.map((a) => Array.from(a));
  }

  logits(ids: readonly number[], options: { threads?: number } = {}): Promise<Float32Array> {
    return this.model.logits(ids, options);
  }

  dispose(): void {
    this.model.dispose();
  }
}
