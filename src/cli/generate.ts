// rlcd generate: sample text from a model with the native engine (or onnxruntime-node for an ONNX model).
import { Command, Option } from 'commander';
import { generateFields } from '../config/generate.js';
import { addFlags, parseConfig } from '../config/schema.js';
import { checkThreads } from '../inference/backend.js';
import { loadModel } from '../model/load.js';
import { WEIGHTS_DTYPES, type WeightsDtype } from '../native/binding.js';
import { readPromptsFile } from '../util/jsonl.js';
import { progressBar } from './progress.js';

export function generateCommand(): Command {
  const cmd = new Command('generate')
    .description('Generate text from a LLaMA-family model (Hugging Face directory, llama2.c .bin, or ONNX directory).')
    .requiredOption('--model <PATH>', 'Model: a Hugging Face directory, a llama2.c .bin file, or an ONNX directory (rlcd export-onnx).')
    .option('--tokenizer <PATH>', 'Tokenizer (tokenizer.json, a SentencePiece .model, or a llama2.c tokenizer.bin).')
    .addOption(new Option('--prompt <TEXT>', 'One prompt.').conflicts('promptsFile'))
    .addOption(new Option('--prompts-file <FILE>', 'JSONL file of {"prompt": "..."} lines.'))
    .option('--json', 'Print one JSON object per completion.')
    .addOption(new Option('--backend <B>', 'Inference backend (default: onnx for an ONNX directory, else native).').choices(['native', 'onnx']))
    .addOption(new Option('--weights-dtype <T>', "The native engine's linear weights: f32 (exact), bf16, f16 or q8_0 (llama.cpp's 8-bit blocks); narrower weights decode faster.").choices([...WEIGHTS_DTYPES]));
  addFlags(cmd, generateFields);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { model: modelPath, tokenizer, prompt, promptsFile, json, backend, weightsDtype, ...rest } = opts;
    const config = parseConfig(generateFields, rest, 'cli');
    checkThreads(config.threads, '--threads');  // the engine's bound (4 x cores), for either backend
    if (prompt === undefined && promptsFile === undefined) throw new Error('give --prompt TEXT or --prompts-file F.jsonl');
    const prompts = prompt !== undefined ? [String(prompt)] : readPromptsFile(String(promptsFile));
    const model = await loadModel(String(modelPath), {
      ...(tokenizer !== undefined && { tokenizer: String(tokenizer) }),
      ...(weightsDtype !== undefined && { weightsDtype: weightsDtype as WeightsDtype }),
      ...(backend !== undefined && { backend: backend as 'native' | 'onnx' }),
      // The onnx backend takes its threads when the session opens (the native engine per call).
      ...(config.threads !== undefined && { onnx: { threads: config.threads } }),
    });
    const bar = progressBar('generate', 'tok');
    try {
      const completions = await model.generate(prompts, { ...config, onProgress: (done, total) => bar.update(done, total) });
      bar.stop();
      // 'length' can mean the model's context, not --max-new-tokens: say which.
      const capped = completions.filter((c) => c.finishReason === 'length' && c.ids.length < config.maxNewTokens && c.promptTokens + c.ids.length >= model.config.maxSeqLen);
      if (capped.length > 0) {
        process.stderr.write(`rlcd: note: ${capped.length} completion(s) stopped at the model's context of ${model.config.maxSeqLen} tokens (prompt + completion), before --max-new-tokens ${config.maxNewTokens}\n`);
      }
      for (const c of completions) {
        if (json) {
          process.stdout.write(
            JSON.stringify({
              promptIndex: c.promptIndex, prompt: prompts[c.promptIndex], text: c.text, ids: c.ids,
              logprobs: c.logprobs, finishReason: c.finishReason, promptTokens: c.promptTokens,
            }) + '\n',
          );
        } else {
          process.stdout.write(prompts[c.promptIndex] + c.text + '\n' + (completions.length > 1 ? '\n' : ''));
        }
      }
    } finally {
      bar.stop();
      model.dispose();
    }
  });
  return cmd;
}
