// rlcd export-onnx: write one of our checkpoints as an ONNX decoder with past key/values in the
// Hugging Face Optimum layout, for the onnxruntime-node backend.
import { Command } from 'commander';
import { exportOnnx } from '../model/onnx-export.js';
import { hasPackage, installHint } from '../util/optional-dependency.js';

export function exportOnnxCommand(): Command {
  return new Command('export-onnx')
    .description('Export a model (Hugging Face directory or llama2.c .bin) as DIR/model.onnx + config.json + tokenizer, for --backend onnx.')
    .requiredOption('--model <PATH>', 'Model: a Hugging Face directory or a llama2.c .bin file.')
    .requiredOption('--out <DIR>', 'Output directory (created if needed).')
    .option('--tokenizer <PATH>', 'Tokenizer to copy (default: the model\'s own; a llama2.c model needs e.g. tok512.bin).')
    .action(async (opts: { model: string; out: string; tokenizer?: string }) => {
      const r = await exportOnnx(opts.model, opts.out, opts.tokenizer !== undefined ? { tokenizer: opts.tokenizer } : {});
      const c = r.config;
      process.stdout.write(
        `wrote ${r.files.map((f) => `${r.dir}/${f}`).join(', ')}\n` +
          `(${c.nLayers} layers, dim ${c.dim}, ${c.nHeads} heads / ${c.nKvHeads} KV heads, vocab ${c.vocabSize}, context ${c.maxSeqLen}, ${c.ropeStyle} RoPE)\n`,
      );
      // Writing needs nothing; running it with --backend onnx needs the optional onnxruntime-node.
      if (!hasPackage('onnxruntime-node')) process.stderr.write(`note: --backend onnx runs this model with onnxruntime-node, which is not installed: ${installHint('onnxruntime-node')}\n`);
    });
}
