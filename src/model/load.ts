// loadModel(): a checkpoint path in, a ready LanguageModel out. Recognises a Hugging Face
// directory (config.json + safetensors + tokenizer.json), a llama2.c .bin (+ its tokenizer.bin), an
// ONNX directory (model.onnx + config.json + tokenizer, run by onnxruntime-node), and a hub id
// ORG/NAME (from the Hugging Face cache, pulled into it first when absent).
import fs from 'node:fs';
import path from 'node:path';
import { WEIGHTS_DTYPES, type EngineConfig, type WeightsDtype } from '../native/binding.js';
import { checkThreads } from '../inference/backend.js';
import { NativeBackend } from '../inference/native.js';
import { checkDevice, getDefaultDevice, type Device } from '../native/device.js';
import type { OnnxBackendOptions } from '../inference/onnx.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { importOptional } from '../util/optional-dependency.js';
import { resolveModelSource } from '../hub/resolve.js';
import { DEFAULT_MODEL_NAME, resolveModelName } from './default-model.js';
import { loadHfCheckpoint, loadHfCheckpointKeepingHalf, readJsonFile } from './hf.js';
import { engineConfigFromHf } from './hf-config.js';
import { loadLlama2cCheckpoint } from './llama2c.js';
import { firstNonFinite, type PackedWeights } from './layout.js';
import { LanguageModel } from './language-model.js';

export interface LoadModelOptions {
  /** Tokenizer file or directory; default: the model directory's tokenizer.json, tokenizer.model or tokenizer.bin, or tokenizer.bin beside a .bin. */
  tokenizer?: string;
  /**
   * 'native' (the C++ engine), 'onnx' (onnxruntime-node) or 'openai' (an OpenAI-compatible server);
   * default: onnx for a directory with model.onnx, else native.
   */
  backend?: 'native' | 'onnx' | 'openai';
  /** onnxruntime-node settings for the onnx backend (execution providers, threads). */
  onnx?: OnnxBackendOptions;
  /**
   * The openai backend's server. The model argument is then the name the server lists; its tokenizer
   * and config.json come from `tokenizer` (a model directory) or from a local directory of that name
   * (or the built-in model's).
   */
  openai?: { baseUrl: string; apiKey?: string; concurrency?: number };
  /**
   * The native engine's storage for the linear weights: 'f32' (default, exact), 'bf16', 'f16' or
   * 'q8_0' (llama.cpp's 8-bit blocks). Decoding reads every weight once a step, so narrower weights
   * decode faster; the activations and sums stay f32. Training always keeps f32 weights.
   */
  weightsDtype?: WeightsDtype;
  /**
   * Where the native engine holds and runs the model: 'cpu', or 'cuda' / 'cuda:N' (an addon built
   * with `npm run build:native:cuda` and a visible GPU; otherwise an error says which is missing).
   * Default: the CLI's --device, else 'cpu'.
   */
  device?: Device;
}

export type CheckpointFormat = 'hf' | 'llama2c' | 'onnx';

export function checkpointFormat(modelPath: string): CheckpointFormat {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(modelPath);
  } catch {
    throw new ModelFormatError(modelPath, `no such file or directory (the built-in model is '${DEFAULT_MODEL_NAME}')`);
  }
  if (stat.isDirectory()) {
    if (fs.existsSync(path.join(modelPath, 'model.onnx')) && fs.existsSync(path.join(modelPath, 'config.json'))) return 'onnx';
    if (fs.existsSync(path.join(modelPath, 'config.json'))) return 'hf';
    throw new ModelFormatError(modelPath, 'is a directory without config.json (expected a Hugging Face checkpoint)');
  }
  if (modelPath.endsWith('.bin')) return 'llama2c';
  throw new ModelFormatError(modelPath, 'unknown model format (expected a Hugging Face directory or a llama2.c .bin file)');
}

function defaultTokenizer(modelPath: string, format: CheckpointFormat): string {
  // A directory's tokenizer: tokenizer.json, else tokenizer.model, else a llama2.c tokenizer.bin
  // (what saveHfCheckpoint writes for a llama2.c source; loaded with the config's vocab size).
  if (format !== 'llama2c' && !['tokenizer.json', 'tokenizer.model'].some((f) => fs.existsSync(path.join(modelPath, f)))) {
    const bin = path.join(modelPath, 'tokenizer.bin');
    if (fs.existsSync(bin)) return bin;
  }
  if (format === 'hf' || format === 'onnx') return modelPath;
  const beside = path.join(path.dirname(modelPath), 'tokenizer.bin');
  if (fs.existsSync(beside)) return beside;
  throw new ModelFormatError(modelPath, 'a llama2.c checkpoint needs its tokenizer: pass --tokenizer (e.g. tok512.bin)');
}

function hasSafetensors(dir: string): boolean {
  return ['model.safetensors', 'model.safetensors.index.json'].some((f) => fs.existsSync(path.join(dir, f)));
}

const LOAD_OPTIONS = ['tokenizer', 'backend', 'onnx', 'openai', 'weightsDtype', 'device'];

export async function loadModel(model: string, options: LoadModelOptions = {}): Promise<LanguageModel> {
  if (typeof model !== 'string' || model === '') throw new TypeError('modelPath must be a non-empty string');
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object { tokenizer?, backend?, onnx?, openai?, weightsDtype?, device? }');
  const unknown = Object.keys(options).filter((k) => !LOAD_OPTIONS.includes(k));
  if (unknown.length > 0) throw new RangeError(`unknown option(s): ${unknown.join(', ')} (loadModel takes ${LOAD_OPTIONS.join(', ')})`);
  if (options.tokenizer !== undefined && (typeof options.tokenizer !== 'string' || options.tokenizer === '')) throw new TypeError('options.tokenizer must be a non-empty string');
  if (options.backend !== undefined && options.backend !== 'native' && options.backend !== 'onnx' && options.backend !== 'openai') {
    throw new RangeError(`backend must be 'native', 'onnx' or 'openai', got ${JSON.stringify(options.backend)}`);
  }
  // A served model's name is the server's to resolve, never something to pull.
  if (options.weightsDtype !== undefined && !WEIGHTS_DTYPES.includes(options.weightsDtype)) {
    throw new RangeError(`weightsDtype must be one of ${WEIGHTS_DTYPES.join(', ')}, got ${JSON.stringify(options.weightsDtype)}`);
  }
  if (options.weightsDtype !== undefined && options.weightsDtype !== 'f32' && options.backend !== undefined && options.backend !== 'native') {
    throw new RangeError(`weightsDtype ${options.weightsDtype} is the native engine's; the ${options.backend} backend keeps its own weights`);
  }
  const device = options.device === undefined ? getDefaultDevice() : checkDevice(options.device, 'options.device');
  if (device !== 'cpu' && options.backend !== undefined && options.backend !== 'native') {
    throw new RangeError(`device ${device} is the native engine's; the ${options.backend} backend runs where it runs`);
  }
  if (options.backend === 'openai') return loadServedModel(model, options);
  if (options.onnx !== undefined) checkOnnxOptions(options.onnx);
  const modelPath = await resolveModelSource(model);
  let format = checkpointFormat(modelPath);
  if (format === 'onnx' && options.backend === 'native') {
    // An ONNX directory that also holds the safetensors checkpoint can run natively.
    if (!hasSafetensors(modelPath)) throw new ModelFormatError(modelPath, 'holds an ONNX model only; the native backend needs the Hugging Face checkpoint or a llama2.c .bin');
    format = 'hf';
  }
  if (format !== 'onnx' && options.backend === 'onnx') {
    throw new ModelFormatError(modelPath, 'is not an ONNX model directory (model.onnx + config.json): export it with `rlcd export-onnx --model M --out DIR`');
  }
  if (format === 'onnx' && options.weightsDtype !== undefined && options.weightsDtype !== 'f32') {
    throw new RangeError(`${modelPath} runs on onnxruntime-node, which keeps its own weights: weightsDtype ${options.weightsDtype} is for the native engine`);
  }
  if (format === 'onnx') return loadOnnxModel(modelPath, options);
  // In a narrow type a bf16 / f16 checkpoint goes to the engine as its own bits: no f32 copy.
  const narrow = options.weightsDtype !== undefined && options.weightsDtype !== 'f32';
  const ck = await readCheckpointAs(modelPath, options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {}, narrow);
  const backend = await NativeBackend.create(ck.config, ck.weights, enginePieces(ck), options.weightsDtype, device);
  return new LanguageModel(ck.tokenizer, backend, modelPath);
}

const ONNX_OPTIONS = ['executionProviders', 'threads', 'spinning'];

/** The onnx backend's settings, checked as the native engine checks its own (threads: 1 to 4 x cores). */
function checkOnnxOptions(o: OnnxBackendOptions): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError('options.onnx must be an object { executionProviders?, threads?, spinning? }');
  const unknown = Object.keys(o).filter((k) => !ONNX_OPTIONS.includes(k));
  if (unknown.length > 0) throw new RangeError(`unknown option(s) in options.onnx: ${unknown.join(', ')} (it takes ${ONNX_OPTIONS.join(', ')})`);
  checkThreads(o.threads, 'options.onnx.threads');
  if (o.executionProviders !== undefined && (!Array.isArray(o.executionProviders) || o.executionProviders.some((p) => typeof p !== 'string' || p === ''))) {
    throw new TypeError('options.onnx.executionProviders must be an array of provider names, e.g. ["cpu"]');
  }
  if (o.spinning !== undefined && typeof o.spinning !== 'boolean') throw new TypeError('options.onnx.spinning must be a boolean');
}

/** The engine's vocabulary table (token bytes for stop and banned strings): one entry per embedding row. */
export function enginePieces(ck: Pick<Checkpoint, 'tokenizer' | 'config'>): Uint8Array[] {
  const pieces = ck.tokenizer.tokenBytes().slice(0, ck.config.vocabSize);
  while (pieces.length < ck.config.vocabSize) pieces.push(new Uint8Array(0));
  return pieces;
}

/** A checkpoint read into memory for the engine: weights in its layout, config, tokenizer. */
export interface Checkpoint {
  format: 'hf' | 'llama2c';
  config: EngineConfig;
  weights: PackedWeights;
  tokenizer: Tokenizer;
  /** Where the tokenizer was read from (saving copies it). */
  tokenizerPath: string;
  /** The Hugging Face config.json, when there is one. */
  hfConfig?: Record<string, unknown>;
}

/** Reads a Hugging Face directory (also one that holds an ONNX export) or a llama2.c .bin. */
export async function readCheckpoint(model: string, options: { tokenizer?: string } = {}): Promise<Checkpoint> {
  return (await readCheckpointAs(model, options, false)) as Checkpoint;
}

/** readCheckpoint, except that a checkpoint stored wholly in bf16 or f16 keeps those bits (for an engine that packs them narrow). */
export async function readCheckpointKeepingHalf(model: string, options: { tokenizer?: string } = {}): Promise<Omit<Checkpoint, 'weights'> & { weights: PackedWeights | PackedWeights<Uint16Array> }> {
  return readCheckpointAs(model, options, true);
}

/** readCheckpoint, with `keepHalf`: a checkpoint stored wholly in bf16 or f16 keeps those bits. */
async function readCheckpointAs(
  model: string,
  options: { tokenizer?: string },
  keepHalf: boolean,
): Promise<Omit<Checkpoint, 'weights'> & { weights: PackedWeights | PackedWeights<Uint16Array> }> {
  const modelPath = await resolveModelSource(model);
  let format = checkpointFormat(modelPath);
  if (format === 'onnx') {
    if (!hasSafetensors(modelPath)) throw new ModelFormatError(modelPath, 'holds an ONNX model only; training and the native engine need the Hugging Face checkpoint');
    format = 'hf';
  }
  const hf = format !== 'hf' ? undefined : keepHalf ? loadHfCheckpointKeepingHalf(modelPath) : loadHfCheckpoint(modelPath);
  const { config, weights } = hf ?? loadLlama2cCheckpoint(modelPath);
  const bad = firstNonFinite(weights);
  if (bad) throw new ModelFormatError(modelPath, `holds a non-finite weight: ${bad}`);
  const tokenizerPath = options.tokenizer ?? defaultTokenizer(modelPath, format);
  const tokenizer = await loadTokenizer(tokenizerPath, { bosId: config.bosId, eosId: config.eosId, vocabSize: config.vocabSize });
  return { format, config, weights, tokenizer, tokenizerPath, ...(hf && { hfConfig: hf.hfConfig }) };
}

async function loadOnnxModel(dir: string, options: LoadModelOptions): Promise<LanguageModel> {
  const configFile = path.join(dir, 'config.json');
  const config = engineConfigFromHf(readJsonFile(configFile), configFile);
  const tokenizer = await loadTokenizer(options.tokenizer ?? defaultTokenizer(dir, 'onnx'), {
    bosId: config.bosId, eosId: config.eosId, vocabSize: config.vocabSize,
  });
  // onnxruntime-node loads only when an ONNX model is asked for.
  const { OnnxBackend } = await importOptional(() => import('../inference/onnx.js'), 'onnxruntime-node', `the onnx backend (${dir})`);
  const backend = await OnnxBackend.create(dir, config, tokenizer.tokenBytes(), options.onnx ?? {});
  return new LanguageModel(tokenizer, backend, dir);
}

/** A model served over HTTP: the local directory gives the tokenizer and config, the server the tokens. */
async function loadServedModel(name: string, options: LoadModelOptions): Promise<LanguageModel> {
  const o = options.openai;
  if (!o || typeof o.baseUrl !== 'string' || o.baseUrl === '') throw new TypeError("options.openai.baseUrl is required with backend 'openai' (e.g. http://127.0.0.1:8000/v1)");
  const local = [options.tokenizer, resolveModelName(name)].find((d) => d !== undefined && fs.existsSync(path.join(d, 'config.json')));
  if (!local) throw new ModelFormatError(options.tokenizer ?? name, "the openai backend reads the served model's tokenizer and config.json from a local directory: give it as --tokenizer DIR");
  const configFile = path.join(local, 'config.json');
  const config = engineConfigFromHf(readJsonFile(configFile), configFile);
  const tokenizer = await loadTokenizer(defaultTokenizer(local, 'hf'), { bosId: config.bosId, eosId: config.eosId, vocabSize: config.vocabSize });
  const { OpenAiBackend } = await import('../inference/openai-http.js');
  const backend = await OpenAiBackend.create(tokenizer, config, { model: name === 'default' ? DEFAULT_MODEL_NAME : name, ...o });
  return new LanguageModel(tokenizer, backend, `${o.baseUrl} ${name}`);
}
