// rlcd serve: an OpenAI-compatible server on the native engine (src/serve).
import { Command } from 'commander';
import { z } from 'zod';
import { int, parseConfig } from '../config/schema.js';
import { checkThreads } from '../inference/backend.js';
import { startServer } from '../serve/server.js';

const serveFields = {
  model: { schema: z.string().min(1), doc: '' },
  tokenizer: { schema: z.string().min(1).optional(), doc: '' },
  host: { schema: z.string().min(1).default('127.0.0.1'), doc: '' },
  port: { schema: int(0, 65535).default(8000), doc: '' },
  apiKey: { schema: z.string().min(1).optional(), doc: '' },
  name: { schema: z.string().min(1).optional(), doc: '' },
  maxBatch: { schema: int(1, 256).default(16), doc: '' },
  threads: { schema: int(1, 1024).optional(), doc: '' },
};

export function serveCommand(): Command {
  return new Command('serve')
    .description('An OpenAI-compatible HTTP server (/v1/models, /v1/completions, /v1/chat/completions, streaming) on the native engine; requests that arrive together are decoded together.')
    .requiredOption('--model <PATH>', "A model directory, a llama2.c .bin (with --tokenizer), or 'rlcd-story-base'.")
    .option('--tokenizer <PATH>', 'Tokenizer, when not beside the model.')
    .option('--host <HOST>', 'Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).')
    .option('--port <P>', 'Port (default 8000; 0 picks a free one).')
    .option('--api-key <KEY>', 'Require "Authorization: Bearer KEY" on every request (default: the RLCD_API_KEY environment variable, else none).')
    .option('--name <ID>', "The model's id in /v1/models (default: the directory's name).")
    .option('--max-batch <N>', 'Most sequences decoded together (default 16).')
    .option('--threads <N>', 'CPU threads (default: all cores).')
    .action(async (opts: Record<string, unknown>) => {
      const cfg = parseConfig(serveFields, { ...opts, ...(opts.apiKey === undefined && process.env.RLCD_API_KEY && { apiKey: process.env.RLCD_API_KEY }) }, 'cli');
      checkThreads(cfg.threads, '--threads');
      const s = await startServer(cfg);
      process.stderr.write(`rlcd serve: ${s.name} at ${s.url} (batches of up to ${cfg.maxBatch}${cfg.apiKey ? ', bearer key required' : ''}); Ctrl-C stops it\n`);
      const stop = (): void => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .exitOverride();
}
