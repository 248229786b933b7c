/**
 * What PostgreSQL alone does with the product's own queueJob SQL: the
 * statements queueJob's group commit sends (src/resolvers/queueCommit.ts,
 * `groupStatements`), for one job per transaction, filled from a job the
 * product wrote during the run, and run by `pgbench` in that transaction:
 *
 *   BEGIN; <per-user advisory lock>; <debit + job + image + usage log>; <queue length>; COMMIT;
 *
 * Each pgbench client is one user (as each virtual user of the load
 * generator); each transaction gets fresh job, image and usage-log ids
 * (`gen_random_uuid()`, computed once per transaction in a CTE that stands
 * for the statement's JSON parameter).
 */
import { execFile } from 'node:child_process';
import { globSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { rowFrom } from '../../src/db/statements.js';
import { images, jobs, usageLogs } from '../../src/db/schema.js';
import { groupStatements, type JobToCommit } from '../../src/resolvers/queueCommit.js';

export interface PgbenchLevel {
  concurrency: number;
  /** pgbench clients: the concurrency, or fewer when PostgreSQL's max_connections leaves less room (the product itself uses a pool of 10). */
  clients: number;
  /** Transactions (= jobs) per second, excluding connection set-up. */
  tps: number;
  latencyAvgMs: number;
  failed: number;
}

export interface PgbenchResult {
  command: string;
  /** The script pgbench ran, for the record (the JSON document abbreviated). */
  script: string;
  levels: PgbenchLevel[];
}

export function pgbenchPath(): string {
  const found = globSync('/usr/lib/postgresql/*/bin/pgbench').sort().at(-1);
  if (!found) throw new Error('pgbench not found under /usr/lib/postgresql/*/bin (apt-get install postgresql-contrib)');
  return found;
}

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The pgbench script for the job `jobId` as the product wrote it into `databaseUrl`. */
export async function pgbenchScript(databaseUrl: string, jobId: string, startingCredits: number): Promise<string> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const [job] = await sql`select * from jobs where id = ${jobId}`;
    const imageRows = await sql`select * from images where job_id = ${jobId} order by image_index`;
    const [usage] = await sql`select * from usage_logs where user_id = ${job!.user_id} and metadata::text like ${`%${jobId}%`}`;
    if (!job || imageRows.length !== 1 || !usage) throw new Error(`job ${jobId}: expected its row, one image and its usage log`);
    const j = rowFrom(jobs, job);
    const image = rowFrom(images, imageRows[0]!);
    const commit: JobToCommit = {
      job: j,
      images: [image],
      videos: [],
      usage: rowFrom(usageLogs, usage),
      startingCredits,
      // MAX_ACTIVE_JOBS_PER_USER as the bench sets it (bench/lib/backends.ts): lifted, but still counted.
      maxActive: 1_000_000,
    };
    const { lock, insert, count } = groupStatements([commit]);
    // The ids become format() arguments: %1$s job, %2$s image, %3$s usage log, %4$s user. So does every
    // ':' (%5$s): pgbench takes any ":name" in a prepared command, even inside a string, for a variable.
    const fill = (json: string) =>
      json
        .replace(/%/g, '%%')
        .replaceAll(j.id, '%1$s')
        .replaceAll(image.id, '%2$s')
        .replaceAll(usage.id as string, '%3$s')
        .replaceAll(j.userId, '%4$s')
        .replaceAll(':', '%5$s');
    const user = `('00000000-0000-4000-8000-' || lpad((:client_id)::text, 12, '0'))`;
    const doc = `format(${literal(fill(insert.params[0]!))}, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), ${user}, ':')`;
    if (!insert.text.startsWith('with ')) throw new Error('the insert statement no longer starts with a WITH clause');
    const insertText = `with doc as materialized (select ${doc} as d), ${insert.text.slice('with '.length).replaceAll('($1::text)', '(select d from doc)')}`;
    const lockText = lock.text.replaceAll('($1::text)', `('["' || ${user} || '"]')`);
    const countText = count.text.replaceAll('($1::text)', literal(count.params[0]!));
    // pgbench reads one SQL command per line unless it ends with a semicolon at the end of a line.
    const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ') + ';';
    return ['BEGIN;', oneLine(lockText), oneLine(insertText), oneLine(countText), 'COMMIT;', ''].join('\n');
  } finally {
    await sql.end();
  }
}

/** Runs the script at each concurrency for `durationSec`, prepared statements, one pgbench thread (as one load-generator process). */
export async function runPgbench(databaseUrl: string, script: string, concurrency: number[], durationSec: number): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(os.tmpdir(), 'genjob-pgbench-'));
  const file = join(dir, 'queuejob.sql');
  writeFileSync(file, script);
  const bin = pgbenchPath();
  const url = new URL(databaseUrl);
  const args = (c: number) => ['-n', '-M', 'prepared', '-c', String(c), '-j', '1', '-T', String(Math.max(1, Math.round(durationSec))), '-f', file];
  const env = { ...process.env, PGHOST: url.hostname, PGPORT: url.port || '5432', PGUSER: decodeURIComponent(url.username), PGDATABASE: url.pathname.slice(1) };
  const levels: PgbenchLevel[] = [];
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let room: number;
  try {
    const [row] = await admin`select current_setting('max_connections')::int - (select count(*)::int from pg_stat_activity) as room`;
    room = Math.max(1, (row!.room as number) - 10);
  } finally {
    await admin.end();
  }
  try {
    for (const concurrencyLevel of concurrency) {
      const c = Math.min(concurrencyLevel, room);
      const { stdout } = await promisify(execFile)(bin, args(c), { env, maxBuffer: 1 << 24 });
      const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
      const lat = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
      const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
      if (!Number.isFinite(tps)) throw new Error(`pgbench -c ${c}: no tps in its output:\n${stdout}`);
      levels.push({ concurrency: concurrencyLevel, clients: c, tps: Math.round(tps * 10) / 10, latencyAvgMs: lat, failed });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const shown = script.replace(/format\('(?:[^']|'')*'/, "format('<the JSON document>'");
  return { command: `${bin} ${args(concurrency[0]!).join(' ').replace(/-c \d+/, '-c <concurrency>').replace(file, 'queuejob.sql')}`, script: shown, levels };
}
