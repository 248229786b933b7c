import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createDb } from '../src/db/client.js';
import { migrationsTag, pgliteTemplate } from '../src/db/template.js';

/**
 * Builds, once per run (and cached across runs by the migrations' hash), a
 * migrated database that every test file clones: a PGlite data directory
 * (a fresh PGlite takes ~10 s to initialise, a copy ~1 s to open) and, for
 * the production project, a PostgreSQL template database.
 */
export default async function setup(project: TestProject): Promise<void> {
  const tag = migrationsTag();

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

  const template = await pgliteTemplate();
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
