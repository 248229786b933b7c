/**
 * Builds the web console into console/dist (or `outDir`): one JS bundle and
 * one stylesheet under assets/ with content hashes in their names (the
 * server gives those a year-long immutable cache) and index.html naming them.
 * Run by `npm run build:console`; tests call buildConsole() into a temp dir.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONSOLE_DIST = join(HERE, 'dist');

export async function buildConsole(outDir: string = DEFAULT_CONSOLE_DIST): Promise<{ js: string; css: string }> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
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
  const outputs = Object.keys(result.metafile.outputs).map((o) => relative(outDir, join(HERE, o)));
  const js = outputs.find((o) => o.endsWith('.js'));
  const css = outputs.find((o) => o.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild produced no ${js ? 'stylesheet' : 'script'}: ${outputs.join(', ')}`);
  const html = readFileSync(join(HERE, 'index.html'), 'utf8')
    .replace('%JS%', `/console/${js}`)
    .replace('%CSS%', `/console/${css}`);
  writeFileSync(join(outDir, 'index.html'), html);
  return { js, css };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? DEFAULT_CONSOLE_DIST;
  buildConsole(out).then(
    ({ js, css }) => process.stdout.write(`console built into ${out}: ${js}, ${css}\n`),
    (err: unknown) => {
      process.stderr.write(`error: the console did not build: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
