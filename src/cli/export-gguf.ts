// rlcd export-gguf: a model as one GGUF file for llama.cpp, Ollama, LM Studio and node-llama-cpp.
import { Command, Option } from 'commander';
import { exportGguf } from '../gguf/export.js';
import { GGUF_DTYPES, type GgufDtype } from '../gguf/format.js';

export function exportGgufCommand(): Command {
  return new Command('export-gguf')
    .description('Export a model (Hugging Face directory, llama2.c .bin, or a trained run\'s policy/) as a GGUF file for llama.cpp, Ollama and node-llama-cpp.')
    .requiredOption('--model <PATH>', 'Model: a Hugging Face directory, a llama2.c .bin, or the built-in rlcd-story-base.')
    .requiredOption('--out <FILE.gguf>', 'Output file (replaced only when rlcd wrote it).')
    .addOption(new Option('--dtype <T>', 'Weight matrices as f32 (exact), f16, bf16 or q8_0 (llama.cpp 8-bit blocks); norms stay f32.').choices(GGUF_DTYPES).default('f32'))
    .option('--tokenizer <PATH>', 'Tokenizer (default: the model\'s own; a llama2.c model needs e.g. tok512.bin).')
    .option('--adapter <DIR>', 'Write this PEFT LoRA adapter (an sft run\'s adapter/) as a llama.cpp LoRA adapter for --model, instead of the model.')
    .option('--name <NAME>', 'general.name in the file (default: the model directory\'s name).')
    .action(async (o: { model: string; out: string; dtype: GgufDtype; tokenizer?: string; name?: string; adapter?: string }) => {
      const r = await exportGguf(o.model, o.out, { dtype: o.dtype, ...(o.tokenizer && { tokenizer: o.tokenizer }), ...(o.name && { name: o.name }), ...(o.adapter && { adapter: o.adapter }) });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      const c = r.config;
      process.stdout.write(
        `wrote ${r.file} (${(r.bytes / 1e6).toFixed(1)} MB, ${r.tensors} tensors, ${r.dtype}; ${c.nLayers} layers, dim ${c.dim}, ` +
          `${c.nHeads} heads / ${c.nKvHeads} KV heads, vocab ${c.vocabSize}, context ${c.maxSeqLen})\n`,
      );
    })
    .exitOverride();
}
