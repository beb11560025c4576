// A model argument to a directory, pulling when it has to: a path that exists wins, the built-in
// names keep their meaning, a hub id already in the cache costs no request, and any other ORG/NAME
// is pulled from the hub. The library pulls quietly; the CLI subscribes to show progress.
import fs from 'node:fs';
import { HubError } from '../errors/hub-error.js';
import { resolveModelName } from '../model/default-model.js';
import type { StageEvent } from '../pipeline/stage.js';
import { pullModel } from './pull.js';
import { isHubId } from './repo-id.js';

export type HubPullListener = (repoId: string, event: StageEvent) => void;

let listener: HubPullListener | undefined;

/** Subscribes to the pulls that model loading starts (one listener; undefined unsubscribes). */
export function onHubPull(l: HubPullListener | undefined): void {
  if (l !== undefined && typeof l !== 'function') throw new TypeError('listener must be a function');
  listener = l;
}

/** The directory (or .bin file) to load for `model`, pulling a hub id that is neither local nor cached. */
export async function resolveModelSource(model: string): Promise<string> {
  const named = resolveModelName(model);
  if (named !== model || !isHubId(model) || fs.existsSync(model)) return named;
  const l = listener;
  try {
    return (await pullModel(model, {}, l ? { onEvent: (e) => l(model, e) } : {})).dir;
  } catch (e) {
    if (!(e instanceof HubError)) throw e;
    const why = e.message.startsWith(`${model}: `) ? e.message.slice(model.length + 2) : e.message;
    throw new HubError(e.kind, `${model}: no such file or directory, and pulling it from the hub failed: ${why}`, e.status);
  }
}
