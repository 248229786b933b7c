import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * drizzle/ at the repository root. The same relative path works from
 * src/db/ (tsx) and from dist/db/ (the build), which sit at the same depth.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** A short hash of drizzle/: names anything built from this exact set of migrations. */
export function migrationsTag(): string {
  const hash = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_DIR, { recursive: true }).map(String).sort()) {
    if (f.endsWith('.sql') || f.endsWith('.json')) hash.update(f).update(readFileSync(join(MIGRATIONS_DIR, f)));
  }
  return hash.digest('hex').slice(0, 12);
}
