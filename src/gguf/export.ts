// rlcd export-gguf: a checkpoint (Hugging Face directory, llama2.c .bin, a trained run's output)
// as one GGUF file for llama.cpp, Ollama, LM Studio and node-llama-cpp.
import fs from 'node:fs';
import path from 'node:path';
import { readCheckpoint } from '../model/load.js';
import { resolveModelName } from '../model/default-model.js';
import type { EngineConfig } from '../native/binding.js';
import { GGUF_DTYPES, TokenType, type GgufDtype } from './format.js';
import { llamaMetadata, llamaTensors } from './llama.js';
import { loraMetadata, loraTensors } from './lora.js';
import { loadPeftAdapter } from '../model/peft.js';
import { isGgufFile, readGguf } from './reader.js';
import { ggufVocab, type GgufVocab } from './vocab.js';
import { writeGguf } from './writer.js';

export interface ExportGgufOptions {
  /** Tensor type of the weight matrices: f32 (exact), f16, bf16 or q8_0 (llama.cpp's 8-bit blocks); norms stay f32. Default f32. */
  dtype?: GgufDtype;
  /** Tokenizer file or directory; default: the model's own. */
  tokenizer?: string;
  /** general.name; default: the model directory's name. */
  name?: string;
  /**
   * A PEFT LoRA adapter directory (an sft run's adapter/): write it as a llama.cpp LoRA adapter for
   * the model instead of the model itself (load both: llama.cpp --lora, Ollama ADAPTER).
   */
  adapter?: string;
}

export interface ExportGgufResult {
  file: string;
  bytes: number;
  tensors: number;
  dtype: GgufDtype;
  config: EngineConfig;
  /** What llama.cpp will do differently from rlcd with this file (e.g. bytes its tokenizer cannot encode). */
  warnings: string[];
}

/** Marks a file as ours, so a later export may replace it (and nothing else). */
const WRITER_KEY = 'rlcd.exported_from';

/** Refuses an output that is an input, or an existing file rlcd did not write. */
function checkOutput(out: string, inputs: readonly string[]): void {
  const o = path.resolve(out);
  for (const input of inputs) {
    const i = path.resolve(input);
    const rel = path.relative(i, o);
    if (rel === '') throw new RangeError(`--out ${out} is the input ${input}; choose another file`);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) throw new RangeError(`--out ${out} is inside the input ${input}; choose another place`);
  }
  if (!out.endsWith('.gguf')) throw new RangeError(`--out ${out}: the file name must end in .gguf`);
  if (!fs.existsSync(o)) {
    const dir = path.dirname(o);
    if (!fs.existsSync(dir)) throw new RangeError(`--out ${out}: the directory ${dir} does not exist`);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw new RangeError(`--out ${out}: ${dir} is not writable`);
    }
    return;
  }
  if (!fs.statSync(o).isFile()) throw new RangeError(`--out ${out} exists and is not a file`);
  if (!isGgufFile(o) || !readGguf(o).metadata.has(WRITER_KEY)) {
    throw new RangeError(`--out ${out} exists and rlcd did not write it; choose another name (or remove it yourself)`);
  }
}

export async function exportGguf(model: string, out: string, options: ExportGgufOptions = {}): Promise<ExportGgufResult> {
  if (typeof model !== 'string' || model === '') throw new TypeError('model must be a non-empty string');
  if (typeof out !== 'string' || out === '') throw new TypeError('out must be a non-empty string (a .gguf file)');
  const dtype = options.dtype ?? 'f32';
  if (!GGUF_DTYPES.includes(dtype)) throw new RangeError(`dtype must be one of ${GGUF_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) throw new TypeError('name must be a non-empty string');
  if (options.adapter !== undefined && (typeof options.adapter !== 'string' || options.adapter === '')) throw new TypeError('adapter must be a non-empty string (a PEFT adapter directory)');
  // Every input (the model, its tokenizer, an adapter) at once, before any work.
  checkOutput(out, [resolveModelName(model), ...[options.tokenizer, options.adapter].filter((x): x is string => x !== undefined)]);
  if (options.adapter !== undefined) return exportAdapter(model, out, options.adapter, options);

  const ck = await readCheckpoint(model, options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {});
  const vocab = ggufVocab(ck.tokenizer, ck.tokenizerPath, ck.config.vocabSize, { bosId: ck.config.bosId, eosId: ck.config.eosId });
  const source = resolveModelName(model);
  const input = {
    config: ck.config,
    weights: ck.weights.data,
    vocab,
    dtype,
    name: options.name ?? path.basename(source).replace(/\.bin$/, ''),
    extra: { [WRITER_KEY]: model },
  };
  const tensors = llamaTensors(input);
  const { bytes } = writeGguf(out, llamaMetadata(input), tensors);
  return { file: out, bytes, tensors: tensors.length, dtype, config: ck.config, warnings: vocabWarnings(vocab) };
}

/** A byte-fallback vocabulary without <0xXX> tokens: llama.cpp stops on such bytes where rlcd gives <unk>. */
function vocabWarnings(vocab: GgufVocab): string[] {
  const bytes = vocab.tokens.filter((t, i) => vocab.types[i] === TokenType.Byte).length;
  if (bytes === 256) return [];
  return [`the tokenizer has ${bytes} of the 256 byte tokens (<0x00>..<0xFF>): llama.cpp fails on text with a character outside the vocabulary (e.g. an accented letter), where rlcd encodes it as <unk>`];
}

/** The adapter in `dir`, shaped for `model`, as a GGUF LoRA adapter (always f32: adapters are small). */
async function exportAdapter(model: string, out: string, dir: string, options: ExportGgufOptions): Promise<ExportGgufResult> {
  const ck = await readCheckpoint(model, options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {});
  const adapter = loadPeftAdapter(dir, ck.config);
  const tensors = loraTensors(ck.config, adapter);
  const name = options.name ?? `${path.basename(path.resolve(dir))} (LoRA r=${adapter.rank})`;
  const { bytes } = writeGguf(out, loraMetadata(adapter, name, { [WRITER_KEY]: dir }), tensors);
  return { file: out, bytes, tensors: tensors.length, dtype: 'f32', config: ck.config, warnings: [] };
}
