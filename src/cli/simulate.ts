// rlcd simulate: simulate preference pairs (RLCD, RLAIF or RLCD-Rescore) from a prompts file.
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { simulateFields, type SimulateProgress } from '../config/simulate.js';
import { addFlags, parseConfig } from '../config/schema.js';
import { checkThreads } from '../inference/backend.js';
import { loadModel } from '../model/load.js';
import { WEIGHTS_DTYPES, type WeightsDtype } from '../native/binding.js';
import { readSimulationPrompts } from '../pipeline/prompts.js';
import { simulatePreferences, type SimulateSummary } from '../pipeline/simulate.js';

/** A bar on stderr (only when it is a terminal) with pairs/min and the drop rate. */
function simulateBar(): { update(p: SimulateProgress): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'simulate [{bar}] {value}/{total} prompts | {pairs} pairs | {rate} pairs/min | drop {drop}% | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const values = {
        pairs: p.pairs,
        rate: ((p.pairs / Math.max(p.elapsedSeconds, 1e-3)) * 60).toFixed(1),
        drop: p.done > 0 ? ((100 * p.dropped) / p.done).toFixed(1) : '0.0',
      };
      if (!started) {
        bar.start(p.total, p.done, values);
        started = true;
      } else {
        bar.update(p.done, values);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function formatSummary(s: SimulateSummary): string {
  const drops = Object.entries(s.dropped).filter(([, n]) => n > 0);
  const dropped = drops.reduce((n, [, k]) => n + k, 0);
  const done = s.pairs + dropped;
  return [
    `simulate ${s.method} on ${s.task}: ${s.pairs} pairs from ${done} prompts` +
      (s.resumed > 0 ? ` (${s.resumed} of ${s.prompts} were done by an earlier run)` : '') +
      `, ${dropped} dropped (${done > 0 ? ((100 * dropped) / done).toFixed(1) : '0.0'}%)` +
      (drops.length > 0 ? `: ${drops.map(([r, n]) => `${r} ${n}`).join(', ')}` : ''),
    `${s.generatedTokens} tokens generated, ${s.retries} retries, ${s.seconds.toFixed(1)} s, ${s.pairsPerMinute.toFixed(1)} pairs/min`,
    `pairs: ${s.out}${dropped > 0 ? `; dropped prompts: ${s.dropsFile}` : ''}`,
  ].join('\n');
}

export function simulateCommand(): Command {
  const cmd = new Command('simulate')
    .description('Simulate preference pairs with RLCD, RLAIF or RLCD-Rescore; writes TRL-style {"prompt","chosen","rejected"} JSONL.')
    .requiredOption('--model <PATH>', 'Simulator: a Hugging Face directory, a llama2.c .bin, or an ONNX directory (rlcd export-onnx / Optimum); with --backend openai, the name the server serves.')
    .requiredOption('--prompts <FILE>', 'JSONL of {"prompt": ...} lines or HH {"chosen": dialogue, ...} lines (.gz allowed).')
    .option('--tokenizer <PATH>', 'Tokenizer (tokenizer.json, a SentencePiece .model, or a llama2.c tokenizer.bin).')
    .addOption(new Option('--backend <B>', 'Inference backend (default: onnx for an ONNX directory, else native; openai: an OpenAI-compatible server).').choices(['native', 'onnx', 'openai']))
    .option('--base-url <URL>', 'With --backend openai: the server, e.g. http://127.0.0.1:8000/v1 (key from OPENAI_API_KEY).')
    .addOption(new Option('--weights-dtype <T>', "The native engine's linear weights: f32 (exact), bf16, f16 or q8_0 (llama.cpp's 8-bit blocks); narrower weights decode faster.").choices([...WEIGHTS_DTYPES]));
  addFlags(cmd, simulateFields);
  cmd.action(async (opts: Record<string, unknown>) => {
    const { model: modelPath, prompts: promptsFile, tokenizer, backend, baseUrl, weightsDtype, ...rest } = opts;
    if ((backend === 'openai') !== (baseUrl !== undefined)) throw new Error('--backend openai and --base-url URL go together');
    const config = parseConfig(simulateFields, rest, 'cli');
    checkThreads(config.threads, '--threads');  // the engine's bound (4 x cores), for either backend
    const prompts = readSimulationPrompts(String(promptsFile));
    const model = await loadModel(String(modelPath), {
      ...(tokenizer !== undefined && { tokenizer: String(tokenizer) }),
      ...(weightsDtype !== undefined && { weightsDtype: weightsDtype as WeightsDtype }),
      ...(backend !== undefined && { backend: backend as 'native' | 'onnx' | 'openai' }),
      ...(config.threads !== undefined && backend !== 'openai' && { onnx: { threads: config.threads } }),
      ...(baseUrl !== undefined && { openai: { baseUrl: String(baseUrl) } }),
    });
    const bar = simulateBar();
    try {
      const summary = await simulatePreferences(model, prompts, { ...config, onProgress: (p) => bar.update(p) });
      bar.stop();
      process.stderr.write(formatSummary(summary) + '\n');
      if (summary.pairs + summary.resumed === 0) {
        throw new Error(`no pair was produced: every prompt was dropped (see ${summary.dropsFile})`);
      }
    } finally {
      bar.stop();
      model.dispose();
    }
  });
  return cmd;
}
