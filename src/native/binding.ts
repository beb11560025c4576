// The typed surface of the C++ addon (native/binding/), declared once. Nothing else imports the
// .node file; everything else goes through these types.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Model hyperparameters as the engine takes them (see native/model/config.h). */
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
}

export interface Addon {
  createModel(config: EngineConfig, weights: Float32Array, pieces?: Uint8Array[]): Promise<NativeModel>;
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
