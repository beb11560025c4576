// Regenerates the option tables in README.md from the stage configs (src/config/*), so the docs
// cannot drift from the code: `npm run docs`. test/unit/docs.test.ts fails when they are stale.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { docBlocks, renderDocs } from '../src/config/docs.js';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const before = fs.readFileSync(readme, 'utf8');
const after = renderDocs(before);
if (after !== before) fs.writeFileSync(readme, after);
console.log(`README.md: ${Object.keys(docBlocks).length} option tables ${after === before ? 'already current' : 'updated'}`);
