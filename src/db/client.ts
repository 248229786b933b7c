import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { MIGRATIONS_DIR as MIGRATIONS, migrationsTag } from './migrations.js';
import * as schema from './schema.js';
import { seedFromTemplate } from './template.js';

/** The Drizzle database, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Either the database or a transaction on it. */
export type DbOrTx = Db | Tx;

export interface DbHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  ping(): Promise<void>;
  /** LISTENs on a channel (notifications arrive after the notifying transaction commits); resolves to the unlisten function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** PostgreSQL connection string; when absent an embedded PGlite database lives in `dataDir`. */
  url?: string;
  /** Directory for the PGlite files (embedded mode). Use `memory://` for a throw-away database. */
  dataDir?: string;
  /** Apply the migrations in `drizzle/` before returning (default true). */
  migrate?: boolean;
  /**
   * PGlite only: start an empty data directory from an initialised template
   * for the current migrations, when one is cached (default true).
   */
  template?: boolean;
  /** postgres.js pool size (default 10). */
  maxConnections?: number;
}

// Any constant works; it only has to be the same for every instance of this app.
const MIGRATION_LOCK_KEY = 7_310_422_918;

/** Opens the database and applies pending migrations. */
export async function createDb(opts: CreateDbOptions): Promise<DbHandle> {
  if (opts.url) return createPostgres(opts.url, opts);
  const dir = opts.dataDir ?? 'memory://';
  if (!dir.startsWith('memory://')) {
    if (opts.template !== false) seedFromTemplate(dir);
    mkdirSync(dir, { recursive: true });
  }
  const client = await PGlite.create(dir);
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  if (opts.migrate !== false) {
    // One process owns a PGlite directory, so a note of the migration set
    // applied last is reliable: when it matches, start-up skips reading and
    // checking every migration (a few hundred ms of a start that should take one second).
    const note = dir.startsWith('memory://') ? null : join(dir, '.genjob-migrations');
    const tag = migrationsTag();
    if (!note || readFileSync(note, { encoding: 'utf8', flag: 'a+' }).trim() !== tag) {
      await migratePglite(db as never, { migrationsFolder: MIGRATIONS });
      if (note) writeFileSync(note, `${tag}\n`);
    }
  }
  return {
    db,
    kind: 'pglite',
    async ping() {
      await client.query('select 1');
    },
    listen: (channel, onNotify) => client.listen(channel, onNotify),
    async close() {
      await client.close();
    },
  };
}

async function createPostgres(url: string, opts: CreateDbOptions): Promise<DbHandle> {
  const client = postgres(url, {
    max: opts.maxConnections ?? 10,
    onnotice: () => {},
    connect_timeout: 5,
    // Connections that died with the server are replaced on the next query.
    idle_timeout: 60,
  });
  try {
    await client`select 1`;
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw new Error(
      `Cannot reach PostgreSQL at ${redactUrl(url)} (DATABASE_URL): ${(err as Error).message} — start PostgreSQL or fix DATABASE_URL.`,
    );
  }
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  if (opts.migrate !== false) {
    // Several instances may boot together: an advisory lock, held by a
    // one-connection client, makes the others wait, then find nothing to apply.
    const migrator = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      await migrator`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
      await migratePostgres(drizzlePostgres(migrator, { schema }), { migrationsFolder: MIGRATIONS });
    } finally {
      await migrator.end({ timeout: 5 }); // ending the session releases the lock
    }
  }
  return {
    db,
    kind: 'postgres',
    async ping() {
      await db.execute(sql`select 1`);
    },
    async listen(channel, onNotify) {
      // postgres.js gives LISTEN a connection of its own and re-listens after a reconnect.
      const { unlisten } = await client.listen(channel, onNotify);
      return unlisten;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

/** Hides the password in a connection string so it can be logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
