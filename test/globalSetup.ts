import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createDb } from '../src/db/client.js';

/**
 * Builds, once per run (and cached across runs by the migrations' hash), a
 * migrated database that every test file clones: a PGlite data directory
 * (a fresh PGlite takes ~10 s to initialise, a copy ~1 s to open) and, for
 * the production project, a PostgreSQL template database.
 */
export default async function setup(project: TestProject): Promise<void> {
  const dir = join(process.cwd(), 'drizzle');
  const hash = createHash('sha256');
  for (const f of readdirSync(dir, { recursive: true }).map(String).sort()) {
    const p = join(dir, f);
    if (f.endsWith('.sql') || f.endsWith('.json')) hash.update(f).update(readFileSync(p));
  }
  const tag = hash.digest('hex').slice(0, 12);

  if (project.name === 'production') {
    const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const template = `genjob_tpl_${tag}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const [found] = await admin`select 1 from pg_database where datname = ${template}`;
      if (!found) {
        const building = `${template}_build_${process.pid}`;
        await admin.unsafe(`create database "${building}"`);
        const url = new URL(adminUrl);
        url.pathname = `/${building}`;
        const db = await createDb({ url: url.toString() });
        await db.close();
        await admin.unsafe(`alter database "${building}" rename to "${template}"`).catch(async () => {
          await admin.unsafe(`drop database if exists "${building}"`);
        });
      }
    } finally {
      await admin.end();
    }
    project.provide('pgTemplate', template);
    project.provide('pgAdminUrl', adminUrl);
    project.provide('pgliteTemplate', '');
    return;
  }

  const template = join(tmpdir(), `genjob-pglite-${tag}`);
  if (!existsSync(template)) {
    const building = `${template}.${process.pid}`;
    const db = await createDb({ dataDir: building });
    await db.close();
    try {
      renameSync(building, template);
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
  }
  project.provide('pgliteTemplate', template);
  project.provide('pgTemplate', '');
  project.provide('pgAdminUrl', '');
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    pgTemplate: string;
    pgAdminUrl: string;
  }
}
