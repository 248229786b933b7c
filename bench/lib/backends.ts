import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { log } from './util.js';
import { pgliteTemplate as buildTemplate } from '../../src/db/template.js';

export type BackendName = 'embedded' | 'production';

export interface BenchSettings {
  pgAdminUrl: string;
  redisUrl: string;
  /** Temp directory of this run (server logs, data dirs). */
  runDir: string;
  jwtSecret: string;
}

/** A fresh, empty set of backends for one server process. */
export interface Backend {
  name: BackendName;
  /** Environment for the server (without PORT/PUBLIC_URL). */
  env: Record<string, string>;
  dataDir: string;
  databaseUrl?: string;
  redisPrefix?: string;
  close(): Promise<void>;
}

/** The shared migrated PGlite template (src/db/template.ts), announced since its first build is slow. */
export async function pgliteTemplate(): Promise<string> {
  log('using the embedded database template (its first build takes ~10-20 s)');
  return buildTemplate();
}

export function randomName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/** Embedded: a fresh DATA_DIR holding a copy of the initialised PGlite template (or nothing, for a first boot). */
export async function embeddedBackend(s: BenchSettings, opts: { initialised?: boolean } = {}): Promise<Backend> {
  const dataDir = mkdtempSync(join(s.runDir, 'data-'));
  if (opts.initialised !== false) cpSync(await pgliteTemplate(), join(dataDir, 'pglite'), { recursive: true });
  return {
    name: 'embedded',
    dataDir,
    env: { DATA_DIR: dataDir },
    async close() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * PostgreSQL + Redis: a database created for this server and dropped after,
 * and a random Redis key prefix whose keys are deleted after. Storage stays
 * on local disk (in a fresh DATA_DIR): no benchmark here touches storage.
 */
export async function productionBackend(s: BenchSettings): Promise<Backend> {
  const dataDir = mkdtempSync(join(s.runDir, 'data-'));
  const name = randomName('genjob_bench_');
  const admin = postgres(s.pgAdminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(s.pgAdminUrl);
  url.pathname = `/${name}`;
  const prefix = `${randomName('bench')}:`;
  return {
    name: 'production',
    dataDir,
    databaseUrl: url.toString(),
    redisPrefix: prefix,
    env: { DATA_DIR: dataDir, DATABASE_URL: url.toString(), REDIS_URL: s.redisUrl, REDIS_KEY_PREFIX: prefix },
    async close() {
      const a = postgres(s.pgAdminUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
      await deleteRedisPrefix(s.redisUrl, prefix);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function makeBackend(name: BackendName, s: BenchSettings): Promise<Backend> {
  return name === 'embedded' ? embeddedBackend(s) : productionBackend(s);
}

/** The server's environment for a backend: big credit balances, no per-user limits and a known JWT secret; everything else at its default. */
export function serverEnv(b: Backend, s: BenchSettings, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...b.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    JWT_SECRET: s.jwtSecret,
    STARTING_CREDITS: '1000000000',
    // The load phases send far more than one user's share on purpose: the
    // per-user limits are out of the way here (the abuse phase sets its own).
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_USER: '1000000',
    ...extra,
  };
}
