import { cpSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from './client.js';
import { migrationsTag } from './migrations.js';

export { migrationsTag } from './migrations.js';

/**
 * Where initialised PGlite data directories are kept, newest first:
 * `npm run build` writes one beside the compiled server (dist/, same path
 * from src/db and dist/db); the tests and benchmarks keep one in the temp dir.
 */
export function templateCandidates(tag = migrationsTag()): string[] {
  return [fileURLToPath(new URL(`../../dist/pglite-${tag}`, import.meta.url)), join(tmpdir(), `genjob-pglite-${tag}`)];
}

/**
 * Builds a migrated PGlite data directory at `target` unless it exists. Safe
 * when several processes build it at once: each builds aside, the first
 * rename wins.
 */
export async function buildPgliteTemplate(target: string): Promise<string> {
  if (existsSync(target)) return target;
  const building = `${target}.${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const db = await createDb({ dataDir: building, template: false });
  await db.close();
  try {
    renameSync(building, target);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
  return target;
}

/**
 * A migrated PGlite data directory in the temp dir, built once per migration
 * set and reused: a fresh PGlite takes ~10 s to initialise, a copy of this
 * one opens in one or two. The tests and the benchmarks clone it.
 */
export async function pgliteTemplate(): Promise<string> {
  return buildPgliteTemplate(templateCandidates()[1]);
}

/**
 * First boot on the embedded defaults: fills an empty PGlite directory with a
 * copy of an initialised template for the current migrations, when one
 * exists. PGlite's own initialisation (initdb in WebAssembly) takes 5–10 s;
 * a copy takes a fraction of a second. Returns the template used, or null.
 */
export function seedFromTemplate(dir: string): string | null {
  if (existsSync(dir) && readdirSync(dir).length > 0) return null;
  const template = templateCandidates().find((c) => existsSync(join(c, 'PG_VERSION')));
  if (!template) return null;
  // Copied aside and renamed, so a crash mid-copy never leaves a half database behind.
  const aside = `${dir}.seeding-${process.pid}`;
  rmSync(aside, { recursive: true, force: true });
  cpSync(template, aside, { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(aside, dir);
  return template;
}
