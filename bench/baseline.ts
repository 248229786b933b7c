/**
 * The bare baseline for queueJob (BENCHMARKS.md, measurement 2): the same work
 * without GraphQL. A plain node:http handler that
 *
 *   - verifies the same token (jose jwtVerify, HS256 pinned, `sub` a UUID),
 *   - builds the same worker payload (same fields, same negative prompt),
 *   - runs the same transaction through the same drizzle tables and driver
 *     (src/db/client.ts: postgres.js pool of 10, or PGlite in DATA_DIR):
 *     user upsert, conditional debit, job row, image rows, usage log,
 *   - and pushes the payload with the same LPUSH (ioredis on REDIS_URL, or an
 *     in-process list on the embedded defaults, as src/pubsub/memoryQueue.ts).
 *
 * It leaves out what the product adds on top of that work: request
 * parsing/validation/execution by GraphQL, the content-policy check, the
 * active-job limit (a per-user advisory lock and count), the queue length
 * (a count of the queue's waiting jobs) and the two PUBLISHes of the change;
 * and it writes each job in a statement of its own, where the product groups
 * concurrent calls into one transaction (src/resolvers/queueCommit.ts). The
 * product no longer pushes at queueJob (the scheduler fills the Redis
 * window), the baseline still does its LPUSH.
 *
 *   POST /queue  {"jobType","prompt","numImages"}  Authorization: Bearer <user token>
 *        → {"id","queueLength"}
 *   GET  /health → 200
 *   GET  /verify → {"db": [job ids], "queue": [job ids in sdxl_queue/wan_queue] | null}
 *
 * Environment: PORT, JWT_SECRET, STARTING_CREDITS, and DATABASE_URL +
 * REDIS_URL (+ REDIS_KEY_PREFIX), or DATA_DIR for the embedded defaults.
 *
 * The reference work is what queueJob does: the rows written by ONE SQL
 * statement (the debit as an upsert with a condition, the job, image and
 * usage-log inserts as data-modifying CTEs hanging off it).
 * BASELINE_VARIANT=transaction (an experiment): the same rows in a
 * transaction of seven round trips, as queueJob did before it changed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { and, eq, gte, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { jwtVerify } from 'jose';
import { createDb } from '../src/db/client.js';
import { images, jobs, usageLogs, users } from '../src/db/schema.js';
import { CATALOG, expectedTimeOf, isJobType, priceOf } from '../src/resolvers/catalog.js';
import {
  imageMetadata as legacyImageMetadata,
  payloadConfig,
  queuedJobMetadata,
  queueUsageMetadata,
} from '../src/resolvers/legacyMetadata.js';
import { buildNegativePrompt } from '../src/resolvers/negativePrompt.js';
import { isUuid } from '../src/vocabulary.js';

const env = process.env;
const port = Number(env.PORT ?? 4100);
const secret = new TextEncoder().encode(env.JWT_SECRET ?? '');
const startingCredits = Number(env.STARTING_CREDITS ?? 100);
const prefix = env.REDIS_KEY_PREFIX ?? '';
const variant = env.BASELINE_VARIANT ?? 'one-statement';

const dbHandle = await createDb({ url: env.DATABASE_URL, dataDir: `${env.DATA_DIR ?? './data'}/pglite` });
const db = dbHandle.db;
const redis = env.REDIS_URL ? new Redis(env.REDIS_URL) : null;
const lists = new Map<string, string[]>();

async function lpush(queue: string, payload: string): Promise<number> {
  if (redis) return redis.lpush(prefix + queue, payload);
  let list = lists.get(queue);
  if (!list) lists.set(queue, (list = []));
  list.push(payload);
  return list.length;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function queue(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return send(res, 401, { error: 'missing token' });
  let userId: string;
  try {
    const { payload } = await jwtVerify(m[1]!, secret, { algorithms: ['HS256'] });
    if (!isUuid(payload.sub)) return send(res, 401, { error: 'bad sub' });
    userId = payload.sub.toLowerCase();
  } catch {
    return send(res, 401, { error: 'invalid token' });
  }
  const input = JSON.parse(await readBody(req)) as { jobType: string; prompt: string; numImages?: number };
  if (!isJobType(input.jobType)) return send(res, 400, { error: 'unknown jobType' });
  const entry = CATALOG[input.jobType];
  const prompt = String(input.prompt).trim();
  const numImages = input.numImages ?? 1;
  const cost = priceOf(entry, numImages);
  const jobId = randomUUID();
  const now = new Date();
  const outputIds = Array.from({ length: numImages }, () => randomUUID());
  const negativePrompt = entry.negativePromptSupported ? buildNegativePrompt(prompt) : undefined;
  const payload = {
    id: jobId,
    type: entry.jobType,
    prompt,
    user_id: userId,
    config: payloadConfig(entry, numImages, null),
    ...(negativePrompt ? { negative_prompt: negativePrompt } : {}),
    video_id: entry.queue === 'wan_queue' ? outputIds[0] : null,
    image_id: entry.format === 'image' ? outputIds[0] : null,
    bucket: entry.bucket,
    model_variant: entry.modelVariant,
    character_id: null,
    created_at: now.toISOString(),
    metadata: {},
  };
  const payloadJson = JSON.stringify(payload);
  const jobMetadata = queuedJobMetadata({ entry, numImages, seed: null, references: [], negativePrompt, cost });
  const imageMetadata = (i: number) => legacyImageMetadata(entry, jobId, i, numImages);
  const usageMetadata = queueUsageMetadata(entry, { jobId, projectId: null, outputId: outputIds[0], at: now });

  /** The experiment: every row in one statement (one image per job here, as the bench queues). */
  async function oneStatement(): Promise<boolean> {
    const rows = await db.execute<{ id: string }>(sql`
      with debit as (
        insert into users (id, credits)
          select ${userId}::uuid, ${startingCredits - cost}::int
          where ${startingCredits}::int >= ${cost}::int or exists (select 1 from users where id = ${userId}::uuid)
        on conflict (id) do update set credits = users.credits - ${cost}::int where users.credits >= ${cost}::int
        returning credits
      ), job as (
        insert into jobs (id, user_id, job_type, format, quality, status, prompt, negative_prompt, seed, num_images,
                          "references", project_id, video_id, image_id, idempotency_key, credit_cost,
                          expected_generation_time, metadata, payload, queue, payload_id, created_at, updated_at)
        select ${jobId}::uuid, ${userId}::uuid, ${entry.jobType}, ${entry.format}, ${entry.quality}, 'queued', ${prompt},
               ${negativePrompt ?? null}, null, ${numImages}::int, '[]'::jsonb, null, null, ${outputIds[0]}::uuid, null,
               ${cost}::int, ${expectedTimeOf(entry, numImages)}::int, ${JSON.stringify(jobMetadata)}::jsonb, ${payloadJson},
               ${entry.queue}, ${jobId}::uuid, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
        from debit
        returning id
      ), image as (
        insert into images (id, job_id, user_id, image_index, bucket, status, metadata)
        select ${outputIds[0]}::uuid, job.id, ${userId}::uuid, 0, ${entry.bucket}, 'queued', ${JSON.stringify(imageMetadata(0))}::jsonb from job
      ), usage as (
        insert into usage_logs (id, user_id, action, credits_consumed, metadata)
        select ${randomUUID()}::uuid, ${userId}::uuid, 'queue_job', ${cost}::int, ${JSON.stringify(usageMetadata)}::jsonb from job
      )
      select id from job`);
    const list = Array.isArray(rows) ? rows : (rows as unknown as { rows: unknown[] }).rows;
    return list.length === 1;
  }

  const ok = variant === 'one-statement' ? await oneStatement() : await db.transaction(async (tx) => {
    await tx.insert(users).values({ id: userId, credits: startingCredits }).onConflictDoNothing();
    const debited = await tx
      .update(users)
      .set({ credits: sql`${users.credits} - ${cost}` })
      .where(and(eq(users.id, userId), gte(users.credits, cost)))
      .returning({ credits: users.credits });
    if (debited.length === 0) return false;
    await tx
      .insert(jobs)
      .values({
        id: jobId,
        userId,
        jobType: entry.jobType,
        format: entry.format,
        quality: entry.quality,
        status: 'queued',
        prompt,
        negativePrompt: negativePrompt ?? null,
        seed: null,
        numImages,
        references: [],
        projectId: null,
        videoId: null,
        imageId: outputIds[0],
        idempotencyKey: null,
        creditCost: cost,
        expectedGenerationTime: expectedTimeOf(entry, numImages),
        metadata: jobMetadata,
        payload: payloadJson,
        queue: entry.queue,
        payloadId: jobId,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    await tx.insert(images).values(
      outputIds.map((id, i) => ({
        id,
        jobId,
        userId,
        imageIndex: i,
        bucket: entry.bucket,
        status: 'queued',
        metadata: imageMetadata(i),
      })),
    );
    await tx.insert(usageLogs).values({
      id: randomUUID(),
      userId,
      action: 'queue_job',
      creditsConsumed: cost,
      metadata: usageMetadata,
    });
    return true;
  });
  if (!ok) return send(res, 402, { error: 'insufficient credits' });
  const queueLength = await lpush(entry.queue, payloadJson);
  send(res, 200, { id: jobId, queueLength });
}

async function verify(res: ServerResponse): Promise<void> {
  const rows = await db.select({ id: jobs.id }).from(jobs);
  const queued = redis ? null : [...lists.values()].flat().map((p) => (JSON.parse(p) as { id: string }).id);
  send(res, 200, { db: rows.map((r) => r.id), queue: queued });
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const handle =
    req.method === 'POST' && path === '/queue'
      ? queue(req, res)
      : path === '/health'
        ? Promise.resolve(send(res, 200, { status: 'ok' }))
        : path === '/verify'
          ? verify(res)
          : Promise.resolve(send(res, 404, { error: 'not found' }));
  handle.catch((err: unknown) => {
    process.stderr.write(`baseline: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (!res.headersSent) send(res, 500, { error: String(err) });
  });
});
server.listen(port, '127.0.0.1');

const stop = async () => {
  server.closeAllConnections();
  server.close();
  redis?.disconnect();
  await dbHandle.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
