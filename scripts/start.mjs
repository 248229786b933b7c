#!/usr/bin/env node
/**
 * `npm start`: runs the compiled server (dist/server.js) in this very process,
 * building it first when dist/ is missing or older than its sources, so a
 * fresh clone needs only `npm install && npm start`.
 *
 * Signals: npm runs scripts through `sh -c`, and passes a SIGTERM it gets on
 * to its child only; sh would die and leave the server running. So the
 * script is `exec node <flags> scripts/start.mjs` (sh becomes this process), and the
 * server runs in this process (an import, not a child): npm's SIGTERM lands
 * on the server itself. Containers should run `node --max-semi-space-size=8 dist/server.js` directly
 * (see the README).
 */
import { enableCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBuilt } from './build.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

try {
  await ensureBuilt();
} catch (err) {
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(1);
}
// Cache compiled code for every module the server loads (see src/server.ts).
enableCompileCache();
await import(pathToFileURL(join(ROOT, 'dist', 'server.js')).href);
