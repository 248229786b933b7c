import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/client.js';
import { jobs } from '../../src/db/schema.js';
import { recordTake } from '../../src/resolvers/attempts.js';
import { pickNext, positionsOf } from '../../src/resolvers/fairOrder.js';

/**
 * The fair order's SQL on its own (a cloned, migrated PGlite): the job
 * `pickNext` takes is always the one `positionsOf` puts first, so the
 * positions users see are exactly the order workers get jobs in; and the
 * order follows the policy (fewest running first, then oldest).
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
      const [row] = await tx.select().from(jobs).where(eq(jobs.id, next.id));
      await recordTake(tx, row, 'rpop');
      return next.id;
    });
    if (!id) return order;
    order.push(id);
  }
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
});
