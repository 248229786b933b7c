import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/client.js';
import { jobs, queueLines } from '../../src/db/schema.js';
import { recordTake, requeueForAnotherAttempt } from '../../src/resolvers/attempts.js';
import { firstInOrder, pickNext, positionsOf, rowsOf, waitingCount } from '../../src/resolvers/fairOrder.js';

/**
 * The fair order's SQL on its own (a cloned, migrated PGlite): the job
 * `pickNext` takes is always the one `positionsOf` puts first, so the
 * positions users see are exactly the order workers get jobs in; and the
 * order follows the policy (fewest running first, then oldest). The lines
 * `pickNext` reads (queue_lines, kept by a trigger) always agree with the
 * jobs, whatever changes them.
 */

let handle: DbHandle;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'genjob-fair-'));
  cpSync(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true });
  handle = await createDb({ dataDir: join(dir, 'pglite'), migrate: false });
});
afterAll(async () => {
  await handle?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await handle.db.delete(jobs);
});

let clock = Date.parse('2026-01-01T00:00:00Z');
async function addJob(userId: string, opts: { running?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  const at = new Date((clock += 1000));
  await handle.db.insert(jobs).values({
    id,
    userId,
    jobType: 'sdxl_image_fast',
    format: 'image',
    quality: 'fast',
    status: 'queued',
    prompt: 'p',
    numImages: 1,
    creditCost: 1,
    expectedGenerationTime: 5,
    payload: '{}',
    queue: 'sdxl_queue',
    payloadId: id,
    queuedAt: at,
    createdAt: at,
    pickedAt: opts.running ? at : null,
    attempts: opts.running ? 1 : 0,
  });
  return id;
}

/** Takes jobs one by one as /rpop does; returns them in order. */
async function popAll(): Promise<string[]> {
  const order: string[] = [];
  for (;;) {
    const id = await handle.db.transaction(async (tx) => {
      const next = await pickNext(tx, 'sdxl_queue');
      if (!next) return null;
      await recordTake(tx, next, 'rpop');
      return next.id;
    });
    if (!id) return order;
    order.push(id);
  }
}

/** queue_lines as the trigger keeps it, and as recomputed from the jobs themselves. */
async function lines() {
  const kept = await handle.db.select().from(queueLines);
  const recomputed = rowsOf<{ queue: string; user_id: string; running: number; waiting: number; head_id: string | null }>(
    await handle.db.execute(sql`select queue, user_id,
        (count(*) filter (where picked_at is not null))::int as running,
        (count(*) filter (where picked_at is null and status = 'queued'))::int as waiting,
        (array_agg(id order by queued_at, id) filter (where picked_at is null and status = 'queued'))[1] as head_id
      from jobs where status in ('queued', 'processing') group by queue, user_id`),
  );
  const key = (l: { queue: string; userId: string }) => `${l.queue}/${l.userId}`;
  return {
    kept: kept.map((l) => ({ queue: l.queue, userId: l.userId, running: l.running, waiting: l.waiting, headId: l.headId })).sort((a, b) => key(a).localeCompare(key(b))),
    recomputed: recomputed
      .map((r) => ({ queue: r.queue, userId: r.user_id, running: r.running, waiting: r.waiting, headId: r.head_id }))
      .sort((a, b) => key(a).localeCompare(key(b))),
  };
}

async function positions(ids: string[]): Promise<string[]> {
  const p = await positionsOf(handle.db, 'sdxl_queue', ids);
  return [...ids].sort((a, b) => p.get(a)! - p.get(b)!);
}

describe('fair order', () => {
  it('one user alone: oldest first', async () => {
    const u = randomUUID();
    const ids = [await addJob(u), await addJob(u), await addJob(u)];
    expect(await positions(ids)).toEqual(ids);
    expect(await popAll()).toEqual(ids);
  });

  it('200 jobs of one user and 1 of another: the one goes second', async () => {
    const [big, small] = [randomUUID(), randomUUID()];
    const many: string[] = [];
    for (let i = 0; i < 200; i++) many.push(await addJob(big));
    const one = await addJob(small);
    const order = await popAll();
    expect(order.indexOf(one)).toBe(1);
    expect(order.filter((id) => id !== one)).toEqual(many);
  });

  it('users with jobs running wait for users with fewer', async () => {
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await addJob(a, { running: true });
    await addJob(a, { running: true });
    await addJob(b, { running: true });
    const a1 = await addJob(a);
    const b1 = await addJob(b);
    const c1 = await addJob(c);
    const c2 = await addJob(c);
    // c (none running) first; then b and c tie at one: b1 is older; then c2 (one) before a1 (two).
    expect(await popAll()).toEqual([c1, b1, c2, a1]);
  });

  it('positions always match the pop order, on random queues', async () => {
    for (let round = 0; round < 5; round++) {
      await handle.db.delete(jobs);
      const users = Array.from({ length: 6 }, () => randomUUID());
      const waiting: string[] = [];
      for (let i = 0; i < 60; i++) {
        const u = users[Math.floor(Math.random() ** 2 * users.length)]!;
        if (Math.random() < 0.15) await addJob(u, { running: true });
        else waiting.push(await addJob(u));
      }
      const predicted = await positions(waiting);
      expect(new Set((await positionsOf(handle.db, 'sdxl_queue', waiting)).values()).size).toBe(waiting.length);
      expect(await popAll()).toEqual(predicted);
    }
  });

  it('the lines agree with the jobs through every change; the window takes the order\'s head', async () => {
    const users = Array.from({ length: 5 }, () => randomUUID());
    const all: string[] = [];
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = async (where: ReturnType<typeof and>) => {
      const rows = await handle.db.select().from(jobs).where(where);
      return rows.length ? rows[Math.floor(rand() * rows.length)]! : null;
    };
    for (let step = 0; step < 150; step++) {
      const r = rand();
      if (r < 0.35) {
        all.push(await addJob(users[Math.floor(rand() * users.length)]!));
      } else if (r < 0.55) {
        await handle.db.transaction(async (tx) => {
          const next = await pickNext(tx, 'sdxl_queue');
          if (next) await recordTake(tx, next, 'rpop');
        });
      } else if (r < 0.65) {
        const row = await pick(and(eq(jobs.status, 'queued'), sql`${jobs.pickedAt} is not null`));
        if (row) await handle.db.update(jobs).set({ status: 'processing' }).where(eq(jobs.id, row.id));
      } else if (r < 0.75) {
        const row = await pick(sql`${jobs.status} in ('queued', 'processing') and ${jobs.pickedAt} is not null`);
        if (row) await handle.db.update(jobs).set({ status: rand() < 0.5 ? 'completed' : 'failed' }).where(eq(jobs.id, row.id));
      } else if (r < 0.85) {
        // A vanished worker: back to the front of its owner's line.
        const row = await pick(sql`${jobs.status} in ('queued', 'processing') and ${jobs.pickedAt} is not null`);
        if (row) await handle.db.transaction((tx) => requeueForAnotherAttempt(tx, row, 'abandoned', 'test'));
      } else if (r < 0.93) {
        const row = await pick(and(eq(jobs.status, 'queued'), isNull(jobs.pickedAt)));
        if (row) await handle.db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, row.id));
      } else {
        // retryJob: a finished job joins the back of its owner's line.
        const row = await pick(sql`${jobs.status} in ('failed', 'cancelled')`);
        if (row) await handle.db.update(jobs).set({ status: 'queued', pickedAt: null, queuedAt: new Date((clock += 1000)) }).where(eq(jobs.id, row.id));
      }
      const { kept, recomputed } = await lines();
      expect(kept).toEqual(recomputed);
    }
    const waiting = (await handle.db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.status, 'queued'), isNull(jobs.pickedAt)))).map((j) => j.id);
    expect(await waitingCount(handle.db, 'sdxl_queue')).toBe(waiting.length);
    const predicted = await positions(waiting);
    expect(predicted.length).toBeGreaterThan(4);
    const head = await handle.db.transaction((tx) => firstInOrder(tx, 'sdxl_queue', 4));
    expect(head).toEqual(predicted.slice(0, 4));
    expect(await popAll()).toEqual(predicted);
    await handle.db.delete(jobs);
    expect(await handle.db.select().from(queueLines)).toEqual([]);
  });
});
