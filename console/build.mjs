/**
 * Builds the web console into console/dist (or `outDir`): one JS bundle and
 * one stylesheet under assets/ with content hashes in their names (the
 * server gives those a year-long immutable cache) and index.html naming them.
 * Plain JavaScript, so the server's build can run it before anything is
 * compiled and without tsx. `npm run build:console` runs it alone; tests
 * call buildConsole() into a temporary folder.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONSOLE_DIST = join(HERE, 'dist');
/** What the bundle is made from (for staleness checks). */
export const CONSOLE_INPUTS = [join(HERE, 'src'), join(HERE, 'index.html'), join(HERE, 'build.mjs')];

/** @param {string} [outDir] @returns {Promise<{ js: string, css: string }>} */
export async function buildConsole(outDir = DEFAULT_CONSOLE_DIST) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('Cannot build the console: esbuild is not installed. Run `npm install` (with dev dependencies), then `npm run build`.');
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  let result;
  try {
    result = await esbuild.build({
    absWorkingDir: HERE,
    entryPoints: { console: join(HERE, 'src/main.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    entryNames: 'assets/[name]-[hash]',
    outdir: outDir,
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    });
  } finally {
    // esbuild keeps a service process for further builds; `npm start` builds and then becomes the
    // server, which must leave no child behind when it stops.
    await esbuild.stop();
  }
  const outputs = Object.keys(result.metafile.outputs).map((o) => relative(outDir, join(HERE, o)));
  const js = outputs.find((o) => o.endsWith('.js'));
  const css = outputs.find((o) => o.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild produced no ${js ? 'stylesheet' : 'script'}: ${outputs.join(', ')}`);
  const html = readFileSync(join(HERE, 'index.html'), 'utf8').replace('%JS%', `/console/${js}`).replace('%CSS%', `/console/${css}`);
  writeFileSync(join(outDir, 'index.html'), html);
  return { js, css };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? DEFAULT_CONSOLE_DIST;
  buildConsole(out).then(
    ({ js, css }) => process.stdout.write(`console built into ${relative(process.cwd(), out) || '.'}: ${js}, ${css}\n`),
    (err) => {
      process.stderr.write(`error: the console did not build: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
