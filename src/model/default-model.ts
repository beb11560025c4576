// The built-in model: models/rlcd-story-base in this package (trained by `npm run
// train:default-model`, see its README.md). Every model argument takes its name, 'rlcd-story-base'
// or 'default', so the examples run on a machine with nothing downloaded.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cachedModelDir } from '../hub/cached-model.js';

export const DEFAULT_MODEL_NAME = 'rlcd-story-base';

/** The directory of the built-in model (the same from src/ under tsx and from dist/). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/rlcd-story-base', import.meta.url));

/**
 * The built-in model's directory for its names, the cached snapshot for a hub id ORG/NAME already in
 * the Hugging Face cache, and any other argument as given. A file or directory of that name here
 * wins. (Pulling a hub id that is not cached is async: resolveModelSource in src/hub/resolve.ts.)
 */
export function resolveModelName(model: string): string {
  if (fs.existsSync(model)) return model;
  if (model === DEFAULT_MODEL_NAME || model === 'default') return DEFAULT_MODEL_DIR;
  return cachedModelDir(model) ?? model;
}
