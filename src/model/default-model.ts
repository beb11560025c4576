// The built-in model: models/rlcd-story-base in this package (trained by `npm run
// train:default-model`, see its README.md). Every model argument takes its name, 'rlcd-story-base'
// or 'default', so the examples run on a machine with nothing downloaded.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DEFAULT_MODEL_NAME = 'rlcd-story-base';

/** The directory of the built-in model (the same from src/ under tsx and from dist/). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/rlcd-story-base', import.meta.url));

/** The built-in model's directory for its names; any other argument as given. A file or directory of that name here wins. */
export function resolveModelName(model: string): string {
  if ((model === DEFAULT_MODEL_NAME || model === 'default') && !fs.existsSync(model)) return DEFAULT_MODEL_DIR;
  return model;
}
