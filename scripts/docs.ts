// Regenerates the option tables in README.md and docs/ from the stage configs (src/config/*), so the docs
// cannot drift from the code: `npm run docs`. test/unit/docs.test.ts fails when they are stale.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DOC_FILES, renderDocs } from '../src/config/docs.js';

for (const name of DOC_FILES) {
  const file = fileURLToPath(new URL(`../${name}`, import.meta.url));
  const before = fs.readFileSync(file, 'utf8');
  const after = renderDocs(before);
  if (after !== before) fs.writeFileSync(file, after);
  console.log(`${name}: option tables ${after === before ? 'already current' : 'updated'}`);
}
