// GGUF export checked by its real consumer: llama.cpp, through node-llama-cpp's prebuilt CPU binary
// (test/gguf, installed apart from rlcd so its CUDA/Vulkan binaries never reach `npm ci`). A file
// passes when llama.cpp's greedy continuation equals rlcd's token for token, its tokenizer splits
// text as ours does, and both our reader and llama.cpp's see every expected key.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/index.js';
import { exportGguf } from '../../src/gguf/export.js';
import { readGguf, readGgufTensorData } from '../../src/gguf/reader.js';
import { f16BitsToF32 } from '../../src/util/half.js';
import { runSft } from '../../src/pipeline/sft.js';
import { describeWith, HF_656K, LLAMA2C_260K, SHARED, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CHECKER_DIR = fileURLToPath(new URL('../gguf', import.meta.url));
const CHECKER = path.join(CHECKER_DIR, 'llama-cpp-check.mjs');
// Where .ci/run installs it: `cd test/gguf && npm install --omit=optional`.
const NODE_LLAMA_CPP = path.join(CHECKER_DIR, 'node_modules/node-llama-cpp/package.json');
const VAL = path.join(SHARED, 'data/tinystories/val.txt');

const PROMPTS = ['Once upon a time, there was a little girl named Lily. She', 'The dog ran to the park. He was very '];
const TEXTS = [...PROMPTS, 'Tom said, "Look!"  Two  spaces,\na new line, 123 and more.'];
// Characters outside the vocabulary (byte fallback): only for tokenizers that have the byte tokens.
const BYTES_TEXT = 'Zoë ate a crêpe — 🙂';
const N = 24;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-gguf-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface LlamaCppRun {
  greedy: number[][];
  tokenized: number[][];
  metadata: Record<string, unknown>;
  tensors: string[];
}

function llamaCpp(model: string, prompts: number[][], lora?: string, texts = TEXTS): LlamaCppRun {
  const req = { model, prompts, n: N, texts, ...(lora && { lora }) };
  return JSON.parse(execFileSync(process.execPath, [CHECKER, JSON.stringify(req)], { encoding: 'utf8', timeout: 120_000 })) as LlamaCppRun;
}

function rlcdCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** rlcd's greedy continuations (up to N tokens or EOS) and prompt ids, and its tokenization of TEXTS. */
async function rlcdGreedy(model: string, tokenizer?: string): Promise<{ prompts: number[][]; greedy: number[][]; tokenized: number[][] }> {
  const m = await loadModel(model, tokenizer ? { tokenizer } : {});
  try {
    const prompts = PROMPTS.map((t) => Array.from(m.tokenizer.encode(t, { bos: true })));
    const greedy = (await m.generate(PROMPTS, { maxNewTokens: N, temperature: 0 })).map((c) => Array.from(c.ids));
    const tokenized = TEXTS.map((t) => Array.from(m.tokenizer.encode(t, { bos: false })));
    return { prompts, greedy, tokenized };
  } finally {
    m.dispose();
  }
}

/** llama.cpp goes on past EOS; rlcd stops there: compare what rlcd generated. */
function expectSameContinuations(ours: number[][], theirs: number[][], first = N): void {
  ours.forEach((o, i) => expect(theirs[i]!.slice(0, Math.min(first, o.length))).toEqual(o.slice(0, first)));
}

const EXPECTED_KEYS = [
  'general.architecture', 'general.name', 'general.file_type', 'general.alignment',
  'llama.context_length', 'llama.embedding_length', 'llama.block_count', 'llama.feed_forward_length', 'llama.rope.dimension_count',
  'llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.attention.layer_norm_rms_epsilon', 'llama.rope.freq_base', 'llama.vocab_size',
  'tokenizer.ggml.model', 'tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type',
  'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.add_bos_token', 'tokenizer.ggml.add_space_prefix',
];

const MODELS: Array<{ name: string; model: string; tokenizer?: string; files: string[] }> = [
  { name: 'tinystories-656k (HF, rotate-half RoPE, BPE tokenizer.json)', model: HF_656K, files: [HF_656K] },
  { name: 'stories260K (llama2.c, interleaved RoPE, tokenizer.bin)', model: LLAMA2C_260K, tokenizer: TOK512, files: [LLAMA2C_260K, TOK512] },
  { name: 'rlcd-story-base (built in)', model: 'rlcd-story-base', files: [] },
];

for (const spec of MODELS) {
  describeWith([NODE_LLAMA_CPP, ...spec.files], `export-gguf through llama.cpp: ${spec.name}`, () => {
    let ours: Awaited<ReturnType<typeof rlcdGreedy>>;
    beforeAll(async () => {
      ours = await rlcdGreedy(spec.model, spec.tokenizer);
    });

    test('f32: greedy decoding and tokenization equal rlcd token for token; every key is there', async () => {
      const file = path.join(tmp, `${path.basename(spec.model)}-f32.gguf`);
      const r = rlcdCli('export-gguf', '--model', spec.model, '--out', file, ...(spec.tokenizer ? ['--tokenizer', spec.tokenizer] : []));
      expect(r.status).toBe(0);
      // tinystories-656k's tokenizer.json has byte_fallback but no byte tokens: the export says so.
      const byteTokens = (readGguf(file).metadata.get('tokenizer.ggml.token_type') as number[]).filter((t) => t === 6).length;
      if (byteTokens === 256) expect(r.stderr).toBe('');
      else expect(r.stderr).toMatch(new RegExp(`^warning: the tokenizer has ${byteTokens} of the 256 byte tokens`));
      const run = llamaCpp(file, ours.prompts);
      expectSameContinuations(ours.greedy, run.greedy);
      expect(ours.greedy.every((g) => g.length >= 8)).toBe(true);
      expect(run.tokenized).toEqual(ours.tokenized);
      if (byteTokens === 256) {
        const m = await loadModel(spec.model, spec.tokenizer ? { tokenizer: spec.tokenizer } : {});
        expect(llamaCpp(file, [], undefined, [BYTES_TEXT]).tokenized).toEqual([Array.from(m.tokenizer.encode(BYTES_TEXT, { bos: false }))]);
        m.dispose();
      }
      const mine = readGguf(file);
      for (const key of EXPECTED_KEYS) {
        expect(mine.metadata.has(key)).toBe(true);
        expect(run.metadata[key]).toBeDefined();
      }
      expect(mine.metadata.get('general.architecture')).toBe('llama');
      expect(run.tensors).toEqual(mine.tensors.map((t) => t.name));
      expect(mine.tensors.map((t) => t.name)).toContain('blk.0.attn_q.weight');
    });

    test('f16 and bf16 agree on the first tokens; q8_0 on the first few', async () => {
      for (const [dtype, first] of [['f16', 8], ['bf16', 6], ['q8_0', 4]] as const) {
        const file = path.join(tmp, `${path.basename(spec.model)}-${dtype}.gguf`);
        await exportGguf(spec.model, file, { dtype, ...(spec.tokenizer && { tokenizer: spec.tokenizer }) });
        expectSameContinuations(ours.greedy, llamaCpp(file, ours.prompts).greedy, first);
      }
    });
  });
}

describeWith([NODE_LLAMA_CPP, LLAMA2C_260K, TOK512, VAL], 'export-gguf of a LoRA-trained model (stories260K)', () => {
  test('the merged model, and the base plus the adapter as a llama.cpp LoRA, equal rlcd generate', async () => {
    const sentences = fs.readFileSync(VAL, 'utf8').split(/(?<=[.!?])\s+/).filter((s) => /happy/.test(s) && s.length < 120).slice(0, 32);
    const data = path.join(tmp, 'sft.jsonl');
    fs.writeFileSync(data, sentences.map((s) => JSON.stringify({ prompt: 'Once upon a time, ', completion: s })).join('\n') + '\n');
    const out = path.join(tmp, 'sft-lora');
    await runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data, out, epochs: 2, lr: 1e-2, batchSize: 8, loraRank: 4, loraTargets: ['q_proj', 'k_proj', 'v_proj', 'down_proj'], quiet: true });
    const tuned = await rlcdGreedy(out);
    const base = await rlcdGreedy(LLAMA2C_260K, TOK512);
    expect(tuned.greedy).not.toEqual(base.greedy); // the adapter changes what the model says

    const merged = path.join(tmp, 'sft-lora.gguf');
    await exportGguf(out, merged);
    expectSameContinuations(tuned.greedy, llamaCpp(merged, tuned.prompts).greedy);

    const baseFile = path.join(tmp, 'sft-base.gguf'), adapterFile = path.join(tmp, 'sft-adapter.gguf');
    await exportGguf(LLAMA2C_260K, baseFile, { tokenizer: TOK512 });
    const r = rlcdCli('export-gguf', '--model', out, '--adapter', path.join(out, 'adapter'), '--out', adapterFile);
    expect(r.status).toBe(0);
    const adapter = readGguf(adapterFile);
    expect(adapter.metadata.get('general.type')).toBe('adapter');
    expect(adapter.metadata.get('adapter.type')).toBe('lora');
    expect(adapter.tensors.map((t) => t.name)).toContain('blk.0.attn_k.weight.lora_b');
    expectSameContinuations(tuned.greedy, llamaCpp(baseFile, tuned.prompts, adapterFile).greedy);
  });
});

describeWith([HF_656K], 'export-gguf: what it writes and what it refuses', () => {
  test('tensors hold the weights: f32 exactly, q8_0 within half a step of each block', async () => {
    const f32 = path.join(tmp, 'w-f32.gguf'), q8 = path.join(tmp, 'w-q8.gguf');
    await exportGguf(HF_656K, f32);
    await exportGguf(HF_656K, q8, { dtype: 'q8_0' });
    const a = readGguf(f32), b = readGguf(q8);
    const emb = a.tensors.find((t) => t.name === 'token_embd.weight')!;
    expect(emb.dims).toEqual([128, 2048]);
    expect(a.tensors.find((t) => t.name === 'output.weight')).toBeUndefined(); // tied: llama.cpp reuses token_embd
    const x = new Float32Array(readGgufTensorData(f32, emb).slice().buffer);
    const qEmb = b.tensors.find((t) => t.name === 'token_embd.weight')!;
    expect(qEmb.type).toBe(8);
    const q = readGgufTensorData(q8, qEmb);
    const view = new DataView(q.buffer, q.byteOffset, q.byteLength);
    let worst = 0;
    for (let blk = 0; blk < x.length / 32; blk++) {
      const d = f16BitsToF32(view.getUint16(blk * 34, true));
      for (let j = 0; j < 32; j++) {
        const err = Math.abs(view.getInt8(blk * 34 + 2 + j) * d - x[blk * 32 + j]!);
        worst = Math.max(worst, err / (d || 1));
      }
    }
    // Half a step, plus the f16 rounding of the scale (up to 127 * 2^-11 of a step).
    expect(worst).toBeLessThanOrEqual(0.5 + 127 / 2048);
    expect(b.metadata.get('general.file_type')).toBe(7);
    expect(b.tensors.find((t) => t.name === 'output_norm.weight')!.type).toBe(0); // norms stay f32
  });

  test('refuses a file rlcd did not write, an input as output, and a wrong extension, before any work', async () => {
    const foreign = path.join(tmp, 'foreign.gguf');
    fs.writeFileSync(foreign, 'not ours');
    await expect(exportGguf(HF_656K, foreign)).rejects.toThrow(/rlcd did not write it/);
    expect(fs.readFileSync(foreign, 'utf8')).toBe('not ours');
    await expect(exportGguf(HF_656K, path.join(HF_656K, 'x.gguf'))).rejects.toThrow(/inside the input/);
    expect(fs.existsSync(path.join(HF_656K, 'x.gguf'))).toBe(false);
    await expect(exportGguf(HF_656K, path.join(tmp, 'model.bin'))).rejects.toThrow(/must end in \.gguf/);
    await expect(exportGguf(HF_656K, path.join(tmp, 'x.gguf'), { dtype: 'q4' as never })).rejects.toThrow(/dtype must be one of/);
    // A file we wrote is replaced.
    const ours = path.join(tmp, 'ours.gguf');
    await exportGguf(HF_656K, ours, { dtype: 'f16' });
    await exportGguf(HF_656K, ours, { dtype: 'q8_0' });
    expect(readGguf(ours).metadata.get('general.file_type')).toBe(7);
  });
});
