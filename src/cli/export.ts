// rlcd export and rlcd serve-reward: hand-off to distributed trainers (OpenRLHF, TRL, verl).
import { Command, Option } from 'commander';
import { EXPORT_FORMATS, exportPairs, type ExportFormat } from '../export/trainer-formats.js';
import { startRewardServer } from '../serve/reward-server.js';

export function exportCommand(): Command {
  return new Command('export')
    .description("A pair file in a distributed trainer's format: trl, openrlhf (with a launch script) or verl.")
    .requiredOption('--pairs <F.jsonl>', "Preference pairs (rlcd simulate's output).")
    .addOption(new Option('--format <F>', 'trl, openrlhf or verl.').choices([...EXPORT_FORMATS]).makeOptionMandatory())
    .requiredOption('--out <DIR>', 'Output directory.')
    .option('--model <ID>', "The base model's id or path for the launch script (openrlhf).")
    .option('--task <T>', 'The task, recorded in the data (verl data_source) and the script.')
    .action((o: { pairs: string; format: ExportFormat; out: string; model?: string; task?: string }) => {
      const r = exportPairs(o);
      process.stderr.write(`export: ${r.pairs} pairs, ${r.prompts} prompts -> ${r.files.join(', ')}\n`);
    })
    .exitOverride();
}

export function serveRewardCommand(): Command {
  return new Command('serve-reward')
    .description("A preference model behind OpenRLHF's remote reward protocol (POST /get_reward {query, prompts?} -> {rewards, scores, extra_logs}).")
    .requiredOption('--pm <DIR>', 'A preference model written by rlcd train-pm (or an align run\'s pm/).')
    .option('--host <HOST>', 'Address (default 127.0.0.1).')
    .option('--port <P>', 'Port (default 5000; 0 picks a free one).')
    .action(async (o: { pm: string; host?: string; port?: string }) => {
      const port = o.port === undefined ? 5000 : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port must be an integer in [0, 65535], got ${o.port}`);
      const s = await startRewardServer({ pm: o.pm, ...(o.host && { host: o.host }), port });
      process.stderr.write(`rlcd serve-reward: ${o.pm} at ${s.url}; point OpenRLHF's --remote_rm_url here\n`);
      const stop = (): void => void s.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .exitOverride();
}
