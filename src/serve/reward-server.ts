// `rlcd serve-reward --pm DIR`: an rlcd preference model behind OpenRLHF's remote reward protocol
// (openrlhf/cli/serve_rm.py): POST /get_reward with {"query": [texts], "prompts"?: [texts],
// "labels"?: [...]} answers {"rewards": [...], "scores": [...], "extra_logs": {}}. A query is the
// prompt followed by the response; when its prompt is given, the preference model reads them as it
// was trained (prompt, a space, the response, its suffix: SPEC.md section 3), else the query plus
// the suffix. Requests are scored in micro-batches on the engine thread.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeForPm, loadPreferenceModel } from '../pipeline/preference-model.js';
import { pmInput } from '../pipeline/preference-data.js';
import { chunks, packBatch } from '../train/batch.js';

export interface RewardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startRewardServer(o: { pm: string; host?: string; port?: number; threads?: number; microBatch?: number }): Promise<RewardServer> {
  const { trainer, suffix: stored } = await loadPreferenceModel(o.pm, o.threads !== undefined ? { threads: o.threads } : {});
  const suffix = stored ?? '\n\nHuman:';
  const maxLen = trainer.config.maxSeqLen;

  const rewards = async (queries: string[], prompts: string[] | undefined): Promise<number[]> => {
    const texts = queries.map((q, i) => {
      const p = prompts?.[i];
      return p !== undefined && q.startsWith(p) ? pmInput(p.trimEnd(), q.slice(p.length).trimStart(), suffix) : q.trimEnd() + suffix;
    });
    const out: number[] = [];
    for (const group of chunks(texts, o.microBatch ?? 16)) {
      const r = await trainer.evaluate(packBatch(group.map((t) => encodeForPm(trainer.tokenizer, t, maxLen))), 'rewards');
      out.push(...Array.from(r));
    }
    return out;
  };

  const server = http.createServer((req, res) => {
    const fail = (status: number, message: string): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
    if (req.method !== 'POST' || req.url !== '/get_reward') return fail(404, 'POST /get_reward');
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      try {
        const data = JSON.parse(body) as { query?: unknown; prompts?: unknown };
        if (!Array.isArray(data.query) || data.query.some((q) => typeof q !== 'string')) return fail(400, '"query" must be an array of strings');
        if (data.prompts !== undefined && (!Array.isArray(data.prompts) || data.prompts.length !== data.query.length)) return fail(400, '"prompts" must be an array as long as "query"');
        const r = await rewards(data.query as string[], data.prompts as string[] | undefined);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rewards: r, scores: r, extra_logs: {} }));
      } catch (e) {
        fail(e instanceof SyntaxError ? 400 : 500, (e as Error).message);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 5000, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}/get_reward`, port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        trainer.dispose();
        resolve();
      });
    }),
  };
}
