#!/usr/bin/env node
/**
 * `npm run build`: compiles src/ to dist/ with tsc (types are checked by
 * `npm run typecheck`; the build only emits, so it takes seconds), bundles
 * the web console into console/dist (console/build.mjs), then caches
 * an initialised PGlite data directory for the current migrations in dist/,
 * so the first start on the embedded defaults copies it instead of running
 * PGlite's slow initialisation. Plain JavaScript: it must run before anything
 * is compiled and without tsx.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const DIST = join(ROOT, 'dist');
export const STAMP = join(DIST, '.build-complete');

export async function build({ quiet = false } = {}) {
  const say = (m) => quiet || process.stderr.write(`${m}\n`);
  let tsc;
  try {
    tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    throw new Error('Cannot build: TypeScript is not installed. Run `npm install` (with dev dependencies), then `npm run build`.');
  }
  rmSync(STAMP, { force: true });
  const started = Date.now();
  say('building dist/ …');
  const out = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--noCheck'], { cwd: ROOT, stdio: 'inherit' });
  if (out.status !== 0) throw new Error(`tsc failed (exit ${out.status ?? out.signal}); run \`npm run typecheck\` for the details.`);
  // The web console (console/dist, served at /console) is part of every build.
  const { buildConsole } = await import(pathToFileURL(join(ROOT, 'console', 'build.mjs')).href);
  await buildConsole();
  const { buildPgliteTemplate, templateCandidates } = await import(pathToFileURL(join(DIST, 'db', 'template.js')).href);
  const template = templateCandidates()[0];
  if (!existsSync(template)) {
    // The tests' and benchmarks' copy in the temp dir is the same thing when it exists.
    const cached = templateCandidates().slice(1).find((c) => existsSync(join(c, 'PG_VERSION')));
    if (cached) cpSync(cached, template, { recursive: true });
    else {
      say('initialising the embedded database template (once per set of migrations) …');
      await buildPgliteTemplate(template);
    }
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  say(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Newest modification time among the build's inputs. */
function newestInput() {
  let newest = 0;
  const visit = (path) => {
    const st = statSync(path);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const input of ['src', 'drizzle', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'console/src', 'console/index.html', 'console/build.mjs']) {
    const path = join(ROOT, input);
    if (existsSync(path)) visit(path);
  }
  return newest;
}

/** dist/ is missing, unfinished, or older than a source file, a migration or the build settings. */
export function isStale() {
  return !existsSync(STAMP) || statSync(STAMP).mtimeMs < newestInput();
}

const LOCK = join(ROOT, '.build-lock');

/**
 * Builds when stale; true when it built. Several processes may start at once
 * (two `npm start`s, or test files): one builds under a lock directory while
 * the others wait, so none imports a half-written dist/.
 */
export async function ensureBuilt({ force = false, ...opts } = {}) {
  if (!force && !isStale()) return false;
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock left by a build that died (older than 3 minutes) is broken.
      if (Date.now() - statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs > 3 * 60_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`another build holds ${LOCK}; remove it if no build is running`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (!force && !isStale()) return false; // built by the process we waited for
    await build(opts);
    return true;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureBuilt({ force: true }).catch((err) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  });
}
