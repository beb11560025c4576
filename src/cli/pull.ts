// rlcd pull: a model from the Hugging Face hub into the cache huggingface_hub shares; prints the
// snapshot directory (any --model takes it, or the id itself). Also the stderr report of the pulls
// that `--model ORG/NAME` starts in every other command.
import { Command } from 'commander';
import { onHubPull } from '../hub/resolve.js';
import { pullModel } from '../hub/pull.js';
import { checkRepoId, checkRevision } from '../hub/repo-id.js';
import { checkIncludeGlobs } from '../hub/select.js';
import { checkToken, hubSettings } from '../hub/settings.js';
import { byteProgressBar, formatBytes } from './progress.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function pullCommand(): Command {
  return new Command('pull')
    .description('Download a model from the Hugging Face hub (config, tokenizer, safetensors weights) into the hub cache shared with huggingface_hub; prints its directory.')
    .argument('<ORG/NAME>', 'The model id on the hub, e.g. raincandy-u/TinyStories-656K.')
    .option('--revision <R>', 'Branch, tag or commit sha (default main).')
    .option('--include <GLOB>', 'Pull the files matching GLOB instead of the model files (repeatable; fnmatch globs, as huggingface_hub allow_patterns).', collect)
    .option('--token <T>', 'Access token for gated or private models (default: HF_TOKEN, else the token `hf auth login` saved).')
    .option('--quiet', 'No progress bar.')
    .action(async (repoId: string, o: { revision?: string; include?: string[]; token?: string; quiet?: boolean }) => {
      const include = o.include ?? [];
      // Every argument is checked before the first request.
      checkRepoId(repoId, 'ORG/NAME');
      if (o.revision !== undefined) checkRevision(o.revision, '--revision');
      if (include.length > 0) checkIncludeGlobs(include, '--include');
      if (o.token !== undefined) checkToken(o.token, '--token');
      const started = Date.now();
      const bar = byteProgressBar(`pull ${repoId}`, o.quiet);
      try {
        const r = await pullModel(
          repoId,
          { ...(o.revision !== undefined && { revision: o.revision }), ...(include.length > 0 && { include }), ...(o.token !== undefined && { token: o.token }) },
          { onEvent: (e) => bar.update(e.step, e.total) },
        );
        bar.stop();
        const bytes = r.files.reduce((n, f) => n + f.size, 0);
        const how = r.offline ? 'from the cache (HF_HUB_OFFLINE)' : r.downloadedBytes > 0 ? `${formatBytes(r.downloadedBytes)} downloaded` : 'all cached';
        process.stderr.write(`rlcd pull: ${repoId}@${r.revision} (commit ${r.commit.slice(0, 12)}): ${r.files.length} files, ${formatBytes(bytes)}, ${how}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        process.stdout.write(`${r.dir}\n`);
      } finally {
        bar.stop();
      }
    })
    .exitOverride();
}

/** Shows on stderr the pulls that model loading starts (`--model ORG/NAME` not yet in the cache). */
export function reportHubPullsOnStderr(): void {
  const bars = new Map<string, ReturnType<typeof byteProgressBar>>();
  onHubPull((repoId, e) => {
    let bar = bars.get(repoId);
    if (!bar) {
      const s = hubSettings();
      process.stderr.write(`rlcd: ${repoId} is not a local path: pulling it from ${s.endpoint} into ${s.cacheDir}\n`);
      bar = byteProgressBar(`pull ${repoId}`);
      bars.set(repoId, bar);
    }
    bar.update(e.step, e.total);
    if (e.total > 0 && e.step >= e.total && e.metrics.files_done === e.metrics.files) bar.stop();
  });
}
