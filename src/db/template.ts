import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from './client.js';

const MIGRATIONS = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** A short hash of drizzle/: names anything built from this exact set of migrations. */
export function migrationsTag(): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS, { recursive: true }).map(String).sort()) {
    if (f.endsWith('.sql') || f.endsWith('.json')) hash.update(f).update(readFileSync(join(MIGRATIONS, f)));
  }
  return hash.digest('hex').slice(0, 12);
}

/**
 * A migrated PGlite data directory in the temp dir, built once per migration
 * set and reused: a fresh PGlite takes ~10 s to initialise, a copy of this
 * one opens in one or two. The tests and the benchmarks clone it. Safe when
 * several processes build it at once (each builds aside, the first rename wins).
 */
export async function pgliteTemplate(): Promise<string> {
  const template = join(tmpdir(), `genjob-pglite-${migrationsTag()}`);
  if (existsSync(template)) return template;
  const building = `${template}.${process.pid}`;
  const db = await createDb({ dataDir: building });
  await db.close();
  try {
    renameSync(building, template);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
  return template;
}
