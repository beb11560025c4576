// loadModel(): a checkpoint path in, a ready LanguageModel out. Recognises a Hugging Face
// directory (config.json + safetensors + tokenizer.json) and a llama2.c .bin (+ its tokenizer.bin).
import fs from 'node:fs';
import path from 'node:path';
import type { EngineConfig } from '../native/binding.js';
import { NativeBackend } from '../inference/native.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { loadHfCheckpoint } from './hf.js';
import { loadLlama2cCheckpoint } from './llama2c.js';
import type { PackedWeights } from './layout.js';
import { LanguageModel } from './language-model.js';

export interface LoadModelOptions {
  /** Tokenizer file or directory; default: the model directory, or tokenizer.bin beside a .bin. */
  tokenizer?: string;
}

export type CheckpointFormat = 'hf' | 'llama2c';

export function checkpointFormat(modelPath: string): CheckpointFormat {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(modelPath);
  } catch {
    throw new ModelFormatError(modelPath, 'no such file or directory');
  }
  if (stat.isDirectory()) {
    if (fs.existsSync(path.join(modelPath, 'config.json'))) return 'hf';
    throw new ModelFormatError(modelPath, 'is a directory without config.json (expected a Hugging Face checkpoint)');
  }
  if (modelPath.endsWith('.bin')) return 'llama2c';
  throw new ModelFormatError(modelPath, 'unknown model format (expected a Hugging Face directory or a llama2.c .bin file)');
}

function defaultTokenizer(modelPath: string, format: CheckpointFormat): string {
  if (format === 'hf') return modelPath;
  const beside = path.join(path.dirname(modelPath), 'tokenizer.bin');
  if (fs.existsSync(beside)) return beside;
  throw new ModelFormatError(modelPath, 'a llama2.c checkpoint needs its tokenizer: pass --tokenizer (e.g. tok512.bin)');
}

export async function loadModel(modelPath: string, options: LoadModelOptions = {}): Promise<LanguageModel> {
  if (typeof modelPath !== 'string' || modelPath === '') throw new TypeError('modelPath must be a non-empty string');
  const format = checkpointFormat(modelPath);
  const { config, weights }: { config: EngineConfig; weights: PackedWeights } =
    format === 'hf' ? loadHfCheckpoint(modelPath) : loadLlama2cCheckpoint(modelPath);
  const tokenizer = await loadTokenizer(options.tokenizer ?? defaultTokenizer(modelPath, format), {
    bosId: config.bosId, eosId: config.eosId, vocabSize: config.vocabSize,
  });
  // The engine's vocabulary table must have one entry per embedding row.
  const pieces = tokenizer.tokenBytes();
  while (pieces.length < config.vocabSize) pieces.push(new Uint8Array(0));
  const backend = await NativeBackend.create(config, weights.data, pieces.slice(0, config.vocabSize));
  return new LanguageModel(tokenizer, backend, modelPath);
}
