import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, jobs, usageLogs, users, videos } from '../../src/db/schema.js';
import { fleet, gql, startTestServer, type GqlResult, type TestServer } from '../helpers/app.js';
import { newUser as newTestUser, type TestUser } from '../helpers/app.js';

/**
 * The domain rules of issue 2, driven over HTTP against a started server.
 * STARTING_CREDITS is 10 for this whole file so the starting balance is
 * observable and "short of credits" is cheap to reach.
 */

const STARTING = 10;

const JOB = `id jobType format quality status progress prompt negativePrompt seed numImages
  references { url type strength } modelVariant queue expectedGenerationTime creditCost errorMessage
  metadata createdAt`;
const QUEUE = `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { ${JOB} } queueLength modelVariant isSDXL negativePromptSupported } }`;

/** From the seed: what each job type is. Times and prices are the catalog's and are read from `jobTypes`. */
const SEED_TYPES = {
  sdxl_image_fast: { format: 'image', quality: 'fast', queue: 'sdxl_queue', modelVariant: 'lustify_sdxl' },
  sdxl_image_high: { format: 'image', quality: 'high', queue: 'sdxl_queue', modelVariant: 'lustify_sdxl' },
  image_fast: { format: 'image', quality: 'fast', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  image_high: { format: 'image', quality: 'high', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  video_fast: { format: 'video', quality: 'fast', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  video_high: { format: 'video', quality: 'high', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  image7b_fast_enhanced: { format: 'image', quality: 'fast', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  image7b_high_enhanced: { format: 'image', quality: 'high', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  video7b_fast_enhanced: { format: 'video', quality: 'fast', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
  video7b_high_enhanced: { format: 'video', quality: 'high', queue: 'wan_queue', modelVariant: 'wan_2_1_1_3b' },
} as const;
type JobTypeName = keyof typeof SEED_TYPES;
const TYPE_NAMES = Object.keys(SEED_TYPES) as JobTypeName[];

interface JobTypeInfo {
  jobType: string;
  format: string;
  quality: string;
  queue: string;
  modelVariant: string;
  bucket: string;
  allowedNumImages: number[];
  negativePromptSupported: boolean;
  expectedGenerationTime: number;
  creditCost: number;
}

let server: TestServer;
let worker: ReturnType<typeof fleet>;
let catalog: Record<string, JobTypeInfo>;

beforeAll(async () => {
  server = await startTestServer({ STARTING_CREDITS: String(STARTING) });
  worker = fleet(server.url, await server.workerToken());
  const res = await gql(
    server.url,
    await server.userToken(),
    `{ jobTypes { jobType format quality queue modelVariant bucket allowedNumImages negativePromptSupported expectedGenerationTime creditCost } }`,
  );
  expect(res.errors).toBeUndefined();
  catalog = Object.fromEntries((res.data!.jobTypes as JobTypeInfo[]).map((t) => [t.jobType, t]));
});
afterAll(async () => {
  await server?.close();
});

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

type User = TestUser;
const newUser = () => newTestUser(server);

function queue(user: User, input: Record<string, unknown>) {
  return gql(server.url, user.token, QUEUE, { i: input });
}

async function queueOk(user: User, input: Record<string, unknown>) {
  const res = await queue(user, input);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job as Record<string, any>;
}

async function credits(user: User): Promise<number> {
  const res = await gql(server.url, user.token, `{ me { id credits } }`);
  expect(res.errors).toBeUndefined();
  expect(res.data!.me.id).toBe(user.id);
  return res.data!.me.credits;
}

async function rowCounts(userId: string) {
  const db = server.app.deps.db;
  const count = async (table: typeof jobs | typeof images | typeof videos | typeof usageLogs) => {
    const [r] = await db.select({ n: sql<number>`count(*)::int` }).from(table).where(eq(table.userId, userId));
    return Number(r.n);
  };
  return { jobs: await count(jobs), images: await count(images), videos: await count(videos), usageLogs: await count(usageLogs) };
}

/** Everything a refused request must leave untouched. */
async function snapshot(user: User) {
  const res = await gql(server.url, user.token, `{ me { credits } jobs(first: 100) { edges { node { id status } } } }`);
  expect(res.errors).toBeUndefined();
  return {
    credits: res.data!.me.credits as number,
    jobs: (res.data!.jobs.edges as Array<{ node: { id: string; status: string } }>).map((e) => `${e.node.id}:${e.node.status}`),
    sdxlQueue: await worker.llen('sdxl_queue'),
    wanQueue: await worker.llen('wan_queue'),
    rows: await rowCounts(user.id),
  };
}

/** Pops until the payload of `jobId` comes out (earlier tests' leftovers are discarded). */
async function popFor(queueName: string, jobId: string): Promise<Record<string, any>> {
  for (let i = 0; i < 200; i++) {
    const payload = await worker.pop(queueName);
    if (payload === null) throw new Error(`job ${jobId} is not in ${queueName}`);
    if (payload.id === jobId) return payload;
  }
  throw new Error(`job ${jobId} not found within 200 pops of ${queueName}`);
}

/** Pops everything; returns the ids that came out. */
async function drain(queueName: string): Promise<string[]> {
  const ids: string[] = [];
  for (let p = await worker.pop(queueName); p !== null; p = await worker.pop(queueName)) ids.push(p.id);
  return ids;
}

function codeOf(res: GqlResult) {
  return res.errors?.[0]?.extensions?.code;
}

// ---------------------------------------------------------------------------
// queueJob for every job type
// ---------------------------------------------------------------------------

describe('queueJob for each of the 10 job types', () => {
  it('jobTypes lists the 10 seed types with the seed routing', () => {
    expect(Object.keys(catalog).sort()).toEqual([...TYPE_NAMES].sort());
    for (const type of TYPE_NAMES) {
      const info = catalog[type];
      expect(info).toMatchObject({ ...SEED_TYPES[type], bucket: type });
      expect(info.allowedNumImages).toEqual(type.startsWith('sdxl_') ? [1, 3, 6] : [1]);
      expect(info.negativePromptSupported).toBe(type.startsWith('sdxl_'));
      expect(info.creditCost).toBeGreaterThan(0);
      expect(info.expectedGenerationTime).toBeGreaterThan(0);
    }
  });

  it.each(TYPE_NAMES)('%s: job fields and worker payload follow the catalog', async (type) => {
    const user = await newUser();
    const info = catalog[type];
    const sdxl = type.startsWith('sdxl_');
    const video = info.format === 'video';
    const before = await credits(user);
    expect(before).toBe(STARTING);
    const qBefore = await worker.llen(info.queue);

    const res = await queue(user, { jobType: type, prompt: `  a red fox in the snow (${type})  ` });
    expect(res.errors).toBeUndefined();
    const payloadOut = res.data!.queueJob;
    const job = payloadOut.job;
    expect(job).toMatchObject({
      jobType: type,
      format: info.format,
      quality: info.quality,
      queue: info.queue,
      modelVariant: info.modelVariant,
      creditCost: info.creditCost,
      expectedGenerationTime: info.expectedGenerationTime,
      status: 'queued',
      progress: 0,
      prompt: `a red fox in the snow (${type})`,
      seed: null,
      numImages: 1,
      references: [],
      errorMessage: null,
    });
    expect(payloadOut).toMatchObject({
      modelVariant: info.modelVariant,
      isSDXL: sdxl,
      negativePromptSupported: sdxl,
      queueLength: qBefore + 1,
    });
    if (sdxl) expect(job.negativePrompt).toEqual(expect.stringMatching(/\S/));
    else expect(job.negativePrompt).toBeNull();
    expect(await credits(user)).toBe(STARTING - info.creditCost);
    expect(await worker.llen(info.queue)).toBe(qBefore + 1);

    const payload = await popFor(info.queue, job.id);
    expect(payload).toMatchObject({
      id: job.id,
      type,
      prompt: `a red fox in the snow (${type})`,
      user_id: user.id,
      bucket: type,
      model_variant: info.modelVariant,
    });
    // Exact: no seed key when none was given, and the seed producer's settings.
    expect(payload.config).toEqual({
      num_images: 1,
      size: '480*832',
      sample_steps: info.quality === 'fast' ? 25 : 50,
      sample_guide_scale: info.quality === 'fast' ? 6.5 : 7.5,
      sample_solver: 'unipc',
      sample_shift: 5,
      frame_num: video ? 83 : 1,
      enhance_prompt: /^(image|video)7b_(fast|high)_enhanced$/.test(type),
      expected_time: info.expectedGenerationTime,
      content_type: info.format,
      file_extension: video ? 'mp4' : 'png',
    });
    if (sdxl) {
      expect(payload.negative_prompt).toBe(job.negativePrompt);
      expect(payload.video_id ?? null).toBeNull();
    } else {
      expect(Object.hasOwn(payload, 'negative_prompt')).toBe(false);
      expect(payload.video_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(Number.isNaN(Date.parse(payload.created_at))).toBe(false);
  });

  it('a given seed travels in config.seed (0 and the maximum included) and is the job seed', async () => {
    const user = await newUser();
    const high = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'seeded', seed: 4294967295 });
    expect(high.seed).toBe(4294967295);
    expect((await popFor('sdxl_queue', high.id)).config.seed).toBe(4294967295);
    const zero = await queueOk(user, { jobType: 'image_fast', prompt: 'seeded zero', seed: 0 });
    expect(zero.seed).toBe(0);
    const payload = await popFor('wan_queue', zero.id);
    expect(Object.hasOwn(payload.config, 'seed')).toBe(true);
    expect(payload.config.seed).toBe(0);
  });

  it('a prompt of 2000 characters after trimming is accepted', async () => {
    const user = await newUser();
    const long = 'a'.repeat(2000);
    const job = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: `  \n${long}\t ` });
    expect(job.prompt).toBe(long);
    expect((await popFor('sdxl_queue', job.id)).prompt).toBe(long);
  });

  it('prompt length counts characters (code points), not UTF-16 units', async () => {
    const user = await newUser();
    const emoji = '🌊'.repeat(2000); // 4000 UTF-16 units
    const job = await queueOk(user, { jobType: 'image_fast', prompt: emoji });
    expect(job.prompt).toBe(emoji);
    const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }`, {
      i: { jobType: 'image_fast', prompt: `${emoji}🌊` },
    });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toContain('(got 2001)');
  });

  it('references are stored and handed to the worker', async () => {
    const user = await newUser();
    const img = await queueOk(user, {
      jobType: 'sdxl_image_high',
      prompt: 'portrait',
      references: [{ url: 'https://93.184.215.14/ref.png', type: 'character', strength: 0.8 }],
    });
    expect(img.references).toEqual([{ url: 'https://93.184.215.14/ref.png', type: 'character', strength: 0.8 }]);
    expect((await popFor('sdxl_queue', img.id)).metadata).toMatchObject({
      reference_image_url: 'https://93.184.215.14/ref.png',
      reference_type: 'character',
      reference_strength: 0.8,
    });
    const vid = await queueOk(user, {
      jobType: 'video_fast',
      prompt: 'a walk',
      references: [
        { url: 'https://93.184.215.14/a.png', type: 'start_frame' },
        { url: 'https://93.184.215.14/b.png', type: 'end_frame', strength: 0.1 },
      ],
    });
    expect((await popFor('wan_queue', vid.id)).metadata).toMatchObject({
      start_reference_image_url: 'https://93.184.215.14/a.png',
      end_reference_image_url: 'https://93.184.215.14/b.png',
      reference_strength: 0.5,
    });
  });
});

// ---------------------------------------------------------------------------
// rejections
// ---------------------------------------------------------------------------

const otherUser = randomUUID();
const REJECTIONS: Array<[string, Record<string, unknown>, RegExp]> = [
  ['numImages 2 for sdxl', { jobType: 'sdxl_image_fast', prompt: 'a cat', numImages: 2 }, /numImages.*1, 3, 6/],
  ['numImages 0 for sdxl', { jobType: 'sdxl_image_high', prompt: 'a cat', numImages: 0 }, /numImages.*1, 3, 6/],
  ['numImages 3 for image_fast', { jobType: 'image_fast', prompt: 'a cat', numImages: 3 }, /numImages.*allowed values are 1\b/],
  ['numImages 6 for video_high', { jobType: 'video_high', prompt: 'a cat', numImages: 6 }, /numImages.*allowed values are 1\b/],
  ['empty prompt', { jobType: 'sdxl_image_fast', prompt: '' }, /prompt.*1 to 2000 characters/],
  ['whitespace prompt', { jobType: 'video_fast', prompt: ' \n\t  ' }, /prompt.*1 to 2000 characters/],
  ['2001-character prompt', { jobType: 'sdxl_image_fast', prompt: 'b'.repeat(2001) }, /prompt.*1 to 2000 characters/],
  // PostgreSQL cannot store NUL: these must be refused up front, not fail as INTERNAL_SERVER_ERROR.
  ['a NUL in the prompt', { jobType: 'sdxl_image_fast', prompt: 'a c\u0000at' }, /prompt may not contain NUL/],
  ['a NUL in the idempotencyKey', { jobType: 'sdxl_image_fast', prompt: 'a cat', idempotencyKey: 'k\u0000' }, /idempotencyKey may not contain NUL/],
  ['a NUL in the projectId', { jobType: 'video_fast', prompt: 'a cat', projectId: 'p\u0000' }, /projectId may not contain NUL/],
  ['seed -1', { jobType: 'sdxl_image_fast', prompt: 'a cat', seed: -1 }, /0 to 4294967295/],
  ['seed 4294967296', { jobType: 'sdxl_image_fast', prompt: 'a cat', seed: 4294967296 }, /0 to 4294967295/],
  ['seed 1.5', { jobType: 'image_high', prompt: 'a cat', seed: 1.5 }, /0 to 4294967295/],
  ['seed "12" (a string)', { jobType: 'image_high', prompt: 'a cat', seed: '12' }, /0 to 4294967295/],
  [
    'two references of the same type',
    {
      jobType: 'sdxl_image_fast',
      prompt: 'a cat',
      references: [
        { url: 'https://93.184.215.14/1.png', type: 'style' },
        { url: 'https://93.184.215.14/2.png', type: 'style' },
      ],
    },
    /one reference of type style/i,
  ],
  [
    'strength 0.05',
    { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: 'https://93.184.215.14/1.png', type: 'style', strength: 0.05 }] },
    /strength.*0\.1 and 1\.0/,
  ],
  [
    'strength 1.1',
    { jobType: 'video_fast', prompt: 'a cat', references: [{ url: 'https://93.184.215.14/1.png', type: 'start_frame', strength: 1.1 }] },
    /strength.*0\.1 and 1\.0/,
  ],
  [
    'ftp:// reference url',
    { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: 'ftp://example.com/1.png', type: 'composition' }] },
    /http\(s\) URL/,
  ],
  [
    'javascript: reference url',
    { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: 'javascript:alert(1)', type: 'composition' }] },
    /http\(s\) URL/,
  ],
  [
    'start_frame on an image type',
    { jobType: 'image_fast', prompt: 'a cat', references: [{ url: 'https://93.184.215.14/1.png', type: 'start_frame' }] },
    /allowed types are style, composition, character/,
  ],
  [
    "another user's reference_images path",
    { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: `reference_images/${otherUser}/x.png`, type: 'style' }] },
    /reference_images\/<your user id>/,
  ],
  [
    'a reference path that escapes with ..',
    { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: 'reference_images/USER/../x.png', type: 'style' }] },
    /reference_images\/<your user id>/,
  ],
];

describe('rejections give BAD_USER_INPUT naming the allowed values, and change nothing', () => {
  it.each(REJECTIONS)('%s', async (_name, rawInput, message) => {
    const user = await newUser();
    // One accepted job first, so "nothing changed" compares a non-trivial state.
    await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'an earlier job' });
    const input = JSON.parse(JSON.stringify(rawInput).replaceAll('/USER/', `/${user.id}/`));
    const before = await snapshot(user);
    const res = await queue(user, input);
    expect(res.data?.queueJob ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(message);
    expect(await snapshot(user)).toEqual(before);
  });

  it('a Seed written as a string literal in the query is refused as BAD_USER_INPUT', async () => {
    const user = await newUser();
    await credits(user);
    const before = await snapshot(user);
    const res = await gql(
      server.url,
      user.token,
      `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a cat", seed: "12" }) { job { id } } }`,
    );
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(/0 to 4294967295/);
    const neg = await gql(
      server.url,
      user.token,
      `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a cat", seed: -1 }) { job { id } } }`,
    );
    expect(codeOf(neg)).toBe('BAD_USER_INPUT');
    expect(await snapshot(user)).toEqual(before);
  });

  it('a reference_images path of your own that was never uploaded is refused', async () => {
    const user = await newUser();
    await credits(user);
    const before = await snapshot(user);
    const res = await queue(user, {
      jobType: 'sdxl_image_fast',
      prompt: 'a cat',
      references: [{ url: `reference_images/${user.id}/missing.png`, type: 'style' }],
    });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(/not been uploaded/);
    expect(await snapshot(user)).toEqual(before);
  });
});

// ---------------------------------------------------------------------------
// content policy
// ---------------------------------------------------------------------------

describe('content policy', () => {
  it.each(['nude photo of a child', 'explicit sexual scene, 15 year old', 'l0li artwork'])(
    'refuses %j with CONTENT_POLICY; nothing stored, queued or charged',
    async (prompt) => {
      const user = await newUser();
      await credits(user);
      const before = await snapshot(user);
      const res = await queue(user, { jobType: 'sdxl_image_fast', prompt });
      expect(res.data?.queueJob ?? null).toBeNull();
      expect(codeOf(res)).toBe('CONTENT_POLICY');
      expect(res.errors![0].message).not.toContain(prompt);
      expect(res.errors![0].message.length).toBeGreaterThan(20);
      expect(await snapshot(user)).toEqual(before);
      expect(before.rows).toEqual({ jobs: 0, images: 0, videos: 0, usageLogs: 0 });
    },
  );

  it.each(["children's book illustration of a dragon", 'a baby blue vintage car', 'nude colour palette for a living room'])(
    'accepts the harmless near-miss %j',
    async (prompt) => {
      const user = await newUser();
      const job = await queueOk(user, { jobType: 'image_fast', prompt });
      expect(job.status).toBe('queued');
      expect((await popFor('wan_queue', job.id)).prompt).toBe(prompt);
    },
  );
});

// ---------------------------------------------------------------------------
// credits
// ---------------------------------------------------------------------------

describe('credits', () => {
  it('a new user starts with STARTING_CREDITS', async () => {
    const user = await newUser();
    expect(await credits(user)).toBe(STARTING);
    // Reading twice does not grant twice.
    expect(await credits(user)).toBe(STARTING);
  });

  it('sdxl with numImages 6 costs 6× the catalog price, with 6 placeholder images and a usage_logs row', async () => {
    const user = await newUser();
    const unit = catalog.sdxl_image_fast.creditCost;
    const job = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'six cats', numImages: 6 });
    expect(job).toMatchObject({ numImages: 6, creditCost: 6 * unit, expectedGenerationTime: 6 * catalog.sdxl_image_fast.expectedGenerationTime });
    expect(await credits(user)).toBe(STARTING - 6 * unit);

    const db = server.app.deps.db;
    const placeholders = await db.select().from(images).where(eq(images.jobId, job.id)).orderBy(asc(images.imageIndex));
    expect(placeholders.map((i) => [i.imageIndex, i.status, i.path, i.bucket, i.userId])).toEqual(
      [0, 1, 2, 3, 4, 5].map((n) => [n, 'queued', null, 'sdxl_image_fast', user.id]),
    );
    const logs = await db.select().from(usageLogs).where(eq(usageLogs.userId, user.id));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ action: 'queue_job', creditsConsumed: 6 * unit });
    expect(logs[0].metadata).toMatchObject({
      job_id: job.id,
      image_id: placeholders[0].id,
      video_id: null,
      model_type: 'sdxl',
      model_variant: 'lustify_sdxl',
      queue: 'sdxl_queue',
      dual_worker_routing: true,
      negative_prompt_supported: true,
    });
    expect(Number.isNaN(Date.parse(String(logs[0].metadata.usage_timestamp)))).toBe(false);

    const payload = await popFor('sdxl_queue', job.id);
    expect(payload.config).toMatchObject({ num_images: 6, expected_time: 6 * catalog.sdxl_image_fast.expectedGenerationTime });
  });

  it('a video job writes one placeholder video row', async () => {
    const user = await newUser();
    const job = await queueOk(user, { jobType: 'video_fast', prompt: 'a river' });
    const rows = await server.app.deps.db.select().from(videos).where(eq(videos.jobId, job.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ userId: user.id, bucket: 'video_fast', status: 'queued', path: null });
    expect((await popFor('wan_queue', job.id)).video_id).toBe(rows[0].id);
  });

  it('INSUFFICIENT_CREDITS when short, and nothing changes; spending down to exactly 0 works', async () => {
    const user = await newUser();
    const high = catalog.sdxl_image_high.creditCost;
    expect(6 * high).toBeGreaterThan(STARTING);
    const before = await snapshot(user);
    const res = await queue(user, { jobType: 'sdxl_image_high', prompt: 'too many', numImages: 6 });
    expect(res.data?.queueJob ?? null).toBeNull();
    expect(codeOf(res)).toBe('INSUFFICIENT_CREDITS');
    expect(res.errors![0].message).toMatch(new RegExp(`costs ${6 * high} credits and you have ${STARTING}`));
    expect(await snapshot(user)).toEqual({ ...before, rows: { jobs: 0, images: 0, videos: 0, usageLogs: 0 } });

    // Spend everything, one credit at a time at the end.
    const fast = catalog.sdxl_image_fast.creditCost;
    expect(fast).toBe(1);
    await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'a', numImages: 6 });
    await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'b', numImages: 3 });
    expect(await credits(user)).toBe(STARTING - 9);
    await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'c' });
    expect(await credits(user)).toBe(0);
    const empty = await snapshot(user);
    const refused = await queue(user, { jobType: 'sdxl_image_fast', prompt: 'd' });
    expect(codeOf(refused)).toBe('INSUFFICIENT_CREDITS');
    expect(await snapshot(user)).toEqual(empty);
    await drain('sdxl_queue');
  });

  it('concurrent jobs never overspend: exactly the affordable ones succeed', async () => {
    const user = await newUser();
    const cost = catalog.video_fast.creditCost; // 3: four of them cost 12 > 10
    const affordable = Math.floor(STARTING / cost);
    const results = await Promise.all(
      Array.from({ length: affordable + 1 }, (_, n) => queue(user, { jobType: 'video_fast', prompt: `race ${n}` })),
    );
    const ok = results.filter((r) => !r.errors);
    const refused = results.filter((r) => r.errors);
    expect(ok).toHaveLength(affordable);
    expect(refused.map(codeOf)).toEqual(['INSUFFICIENT_CREDITS']);
    expect(await credits(user)).toBe(STARTING - affordable * cost);
    expect(await rowCounts(user.id)).toEqual({ jobs: affordable, images: 0, videos: affordable, usageLogs: affordable });
    const [u] = await server.app.deps.db.select().from(users).where(eq(users.id, user.id));
    expect(u.credits).toBe(STARTING - affordable * cost);
    await drain('wan_queue');
  });
});

// ---------------------------------------------------------------------------
// idempotency
// ---------------------------------------------------------------------------

describe('idempotencyKey', () => {
  it('the same key twice returns the same job, charged once, queued once', async () => {
    const user = await newUser();
    await drain('sdxl_queue');
    const input = { jobType: 'sdxl_image_fast', prompt: 'once only', numImages: 3, idempotencyKey: 'key-1' };
    const first = await queueOk(user, input);
    const second = await queueOk(user, input);
    expect(second.id).toBe(first.id);
    expect(await credits(user)).toBe(STARTING - 3);
    expect(await worker.llen('sdxl_queue')).toBe(1);
    expect(await rowCounts(user.id)).toEqual({ jobs: 1, images: 3, videos: 0, usageLogs: 1 });
    expect((await worker.pop('sdxl_queue'))!.id).toBe(first.id);
    // Repeating after the worker took it does not queue it again either.
    const third = await queueOk(user, input);
    expect(third.id).toBe(first.id);
    expect(await worker.llen('sdxl_queue')).toBe(0);
    expect(await credits(user)).toBe(STARTING - 3);
  });

  it('five concurrent identical requests create one job and one charge', async () => {
    const user = await newUser();
    await drain('wan_queue');
    const input = { jobType: 'video_fast', prompt: 'concurrent', idempotencyKey: `k-${randomUUID()}` };
    const results = await Promise.all(Array.from({ length: 5 }, () => queue(user, input)));
    for (const r of results) expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    const ids = new Set(results.map((r) => r.data!.queueJob.job.id));
    expect(ids.size).toBe(1);
    expect(await credits(user)).toBe(STARTING - catalog.video_fast.creditCost);
    expect(await rowCounts(user.id)).toEqual({ jobs: 1, images: 0, videos: 1, usageLogs: 1 });
    expect(await worker.llen('wan_queue')).toBe(1);
    expect(await drain('wan_queue')).toEqual([...ids]);
  });

  it('the same key from another user is another job', async () => {
    const a = await newUser();
    const b = await newUser();
    const input = { jobType: 'sdxl_image_fast', prompt: 'shared key', idempotencyKey: 'same-key' };
    const ja = await queueOk(a, input);
    const jb = await queueOk(b, input);
    expect(jb.id).not.toBe(ja.id);
    expect(await credits(a)).toBe(STARTING - 1);
    expect(await credits(b)).toBe(STARTING - 1);
    const ga = await gql(server.url, a.token, `query($id: ID!) { job(id: $id) { id } }`, { id: jb.id });
    expect(ga.data!.job).toBeNull();
    await drain('sdxl_queue');
  });

  it('a different key is a different job', async () => {
    const user = await newUser();
    await drain('sdxl_queue');
    const j1 = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'p', idempotencyKey: 'a' });
    const j2 = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'p', idempotencyKey: 'b' });
    const j3 = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'p' });
    const j4 = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'p' });
    expect(new Set([j1.id, j2.id, j3.id, j4.id]).size).toBe(4);
    expect(await credits(user)).toBe(STARTING - 4);
    // LPUSH in, RPOP out: first queued, first popped.
    expect(await drain('sdxl_queue')).toEqual([j1.id, j2.id, j3.id, j4.id]);
  });
});

// ---------------------------------------------------------------------------
// status and cancel
// ---------------------------------------------------------------------------

const CANCEL = `mutation($id: ID!) { cancelJob(id: $id) { id status errorMessage completedAt } }`;
const GET = `query($id: ID!) { job(id: $id) { id status progress completedAt } }`;

async function refundLogs(userId: string) {
  return server.app.deps.db
    .select()
    .from(usageLogs)
    .where(and(eq(usageLogs.userId, userId), sql`${usageLogs.creditsConsumed} < 0`));
}

describe('status and cancelJob', () => {
  it('cancels a queued job with one refund; a second cancel is an error and refunds nothing', async () => {
    const user = await newUser();
    await drain('wan_queue');
    const job = await queueOk(user, { jobType: 'video_high', prompt: 'cancel me' });
    expect(await credits(user)).toBe(STARTING - catalog.video_high.creditCost);
    expect(await worker.llen('wan_queue')).toBe(1);

    const res = await gql(server.url, user.token, CANCEL, { id: job.id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.cancelJob).toMatchObject({ id: job.id, status: 'cancelled' });
    expect(res.data!.cancelJob.completedAt).not.toBeNull();
    expect(await credits(user)).toBe(STARTING);
    // The payload is gone: the queue is back to empty and nothing pops.
    expect(await worker.llen('wan_queue')).toBe(0);
    expect(await worker.pop('wan_queue')).toBeNull();

    const again = await gql(server.url, user.token, CANCEL, { id: job.id });
    expect(codeOf(again)).toBe('BAD_USER_INPUT');
    expect(again.errors![0].message).toMatch(/already cancelled/);
    expect(await credits(user)).toBe(STARTING);
    expect(await refundLogs(user.id)).toHaveLength(1);
    const [videoRow] = await server.app.deps.db.select().from(videos).where(eq(videos.jobId, job.id));
    expect(videoRow.status).toBe('cancelled');
  });

  it('concurrent cancels refund exactly once', async () => {
    const user = await newUser();
    const job = await queueOk(user, { jobType: 'sdxl_image_high', prompt: 'race cancel', numImages: 3 });
    expect(await credits(user)).toBe(STARTING - 6);
    const results = await Promise.all(Array.from({ length: 4 }, () => gql(server.url, user.token, CANCEL, { id: job.id })));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors).map(codeOf)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
    expect(await credits(user)).toBe(STARTING);
    expect(await refundLogs(user.id)).toHaveLength(1);
  });

  it('cancels a processing job with a refund; the worker cannot bring it back', async () => {
    const user = await newUser();
    const job = await queueOk(user, { jobType: 'image_high', prompt: 'processing' });
    const payload = await popFor('wan_queue', job.id);
    expect((await worker.callback({ job_id: job.id, status: 'processing', progress: 30 })).status).toBe(200);
    expect((await gql(server.url, user.token, GET, { id: job.id })).data!.job).toMatchObject({ status: 'processing', progress: 30 });

    const res = await gql(server.url, user.token, CANCEL, { id: job.id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.cancelJob.status).toBe('cancelled');
    expect(await credits(user)).toBe(STARTING);

    const path = `${user.id}/${payload.video_id}.png`;
    expect((await worker.uploadMultipart('image_high', path, new Uint8Array([1, 2, 3]), 'image/png')).status).toBe(200);
    const late = await worker.callback({ job_id: job.id, status: 'completed', assets: [path] });
    expect(late.status).toBe(200);
    const after = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { status assets { path } } }`, { id: job.id });
    expect(after.data!.job).toEqual({ status: 'cancelled', assets: [] });
    expect(await credits(user)).toBe(STARTING);
  });

  it("a cancelled job's payload is not handed to a worker even if it is still in the list", async () => {
    const user = await newUser();
    await drain('sdxl_queue');
    const keep = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'keep' });
    const job = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'drop' });
    const [row] = await server.app.deps.db.select({ payload: jobs.payload }).from(jobs).where(eq(jobs.id, job.id));
    expect((await gql(server.url, user.token, CANCEL, { id: job.id })).data!.cancelJob.status).toBe('cancelled');
    // Simulate the cancel's best-effort LREM having missed (e.g. a second copy pushed by the dispatcher).
    await server.app.deps.queue.push('sdxl_queue', row.payload);
    const popped = await drain('sdxl_queue');
    expect(popped).toEqual([keep.id]);
  });

  it('cancelling a completed job is an error and refunds nothing', async () => {
    const user = await newUser();
    const job = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'done' });
    const payload = await popFor('sdxl_queue', job.id);
    const path = `${payload.user_id}/sdxl_${job.id}_1700000000_0.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([137, 80, 78, 71]))).status).toBe(200);
    expect((await worker.callback({ job_id: job.id, status: 'completed', assets: [path] })).status).toBe(200);
    expect(await credits(user)).toBe(STARTING - 1);
    const res = await gql(server.url, user.token, CANCEL, { id: job.id });
    expect(res.data?.cancelJob ?? null).toBeNull();
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(/already completed.*only queued or processing/);
    expect(await credits(user)).toBe(STARTING - 1);
    expect((await gql(server.url, user.token, GET, { id: job.id })).data!.job).toMatchObject({ status: 'completed', progress: 100 });
    expect(await refundLogs(user.id)).toHaveLength(0);
  });

  it('cancelling a random or malformed id is NOT_FOUND', async () => {
    const user = await newUser();
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await gql(server.url, user.token, CANCEL, { id });
      expect(codeOf(res)).toBe('NOT_FOUND');
    }
  });
});

// ---------------------------------------------------------------------------
// jobs(first, after, status, format)
// ---------------------------------------------------------------------------

const LIST = `query($first: Int, $after: String, $status: JobStatus, $format: MediaFormat) {
  jobs(first: $first, after: $after, status: $status, format: $format) {
    edges { cursor node { id status format } } pageInfo { hasNextPage endCursor } } }`;

async function list(user: User, vars: Record<string, unknown>) {
  const res = await gql(server.url, user.token, LIST, vars);
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.jobs as {
    edges: Array<{ cursor: string; node: { id: string; status: string; format: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

async function pageAll(user: User, first: number, filters: Record<string, unknown> = {}) {
  const ids: string[] = [];
  const pages: number[] = [];
  let after: string | null = null;
  for (let i = 0; i < 50; i++) {
    const page = await list(user, { first, after, ...filters });
    ids.push(...page.edges.map((e) => e.node.id));
    pages.push(page.edges.length);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
    if (!page.pageInfo.hasNextPage) return { ids, pages };
    after = page.pageInfo.endCursor;
  }
  throw new Error('pagination did not end');
}

describe('jobs(first, after, status, format)', () => {
  let user: User;
  const created: Array<{ id: string; format: string }> = [];

  beforeAll(async () => {
    user = await newUser();
    // Created one after another so "newest first" has a definite order. Cost 1+1+3+1+3 = 9.
    for (const [jobType, prompt] of [
      ['sdxl_image_fast', 'one'],
      ['sdxl_image_fast', 'two'],
      ['video_fast', 'three'],
      ['sdxl_image_fast', 'four'],
      ['video_fast', 'five'],
    ]) {
      const job = await queueOk(user, { jobType, prompt });
      created.push({ id: job.id, format: job.format });
    }
  });

  it('lists newest first and pages through without duplicates or gaps', async () => {
    const newestFirst = created.map((j) => j.id).reverse();
    expect((await list(user, {})).edges.map((e) => e.node.id)).toEqual(newestFirst);
    for (const size of [1, 2, 3, 5, 100]) {
      const { ids, pages } = await pageAll(user, size);
      expect(ids).toEqual(newestFirst);
      expect(pages.every((n) => n <= size)).toBe(true);
    }
    const two = await pageAll(user, 2);
    expect(two.pages).toEqual([2, 2, 1]);
    const exact = await list(user, { first: 5 });
    expect(exact.pageInfo.hasNextPage).toBe(false);
  });

  it('pages correctly when several jobs share a creation time', async () => {
    const other = await newUser();
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push((await queueOk(other, { jobType: 'sdxl_image_fast', prompt: `tie ${n}` })).id);
    // Concurrent requests can be created in the same millisecond; make that certain.
    const at = new Date('2030-01-01T00:00:00.123Z');
    await server.app.deps.db.update(jobs).set({ createdAt: at }).where(eq(jobs.userId, other.id));
    const { ids: paged } = await pageAll(other, 1);
    expect(paged).toHaveLength(4);
    expect([...paged].sort()).toEqual([...ids].sort());
    expect(paged).toEqual([...ids].sort().reverse());
  });

  it('filters by format and status, also while paging', async () => {
    const videoIds = created.filter((j) => j.format === 'video').map((j) => j.id).reverse();
    const imageIds = created.filter((j) => j.format === 'image').map((j) => j.id).reverse();
    expect((await pageAll(user, 1, { format: 'video' })).ids).toEqual(videoIds);
    expect((await pageAll(user, 2, { format: 'image' })).ids).toEqual(imageIds);

    const cancelled = created[1].id;
    expect((await gql(server.url, user.token, CANCEL, { id: cancelled })).errors).toBeUndefined();
    expect((await list(user, { status: 'cancelled' })).edges.map((e) => e.node.id)).toEqual([cancelled]);
    expect((await list(user, { status: 'cancelled', format: 'video' })).edges).toEqual([]);
    const queued = await pageAll(user, 2, { status: 'queued' });
    expect(queued.ids).toEqual(created.map((j) => j.id).filter((id) => id !== cancelled).reverse());
    expect((await list(user, { status: 'completed' })).edges).toEqual([]);
    expect((await list(user, { status: 'queued', format: 'image' })).edges.map((e) => e.node.id)).toEqual(
      imageIds.filter((id) => id !== cancelled),
    );
  });

  it("lists only the viewer's own jobs", async () => {
    const stranger = await newUser();
    expect((await list(stranger, {})).edges).toEqual([]);
  });

  it.each([
    ['first: 0', { first: 0 }, /first.*1 and 100/],
    ['first: 101', { first: 101 }, /first.*1 and 100/],
    ['first: -1', { first: -1 }, /first.*1 and 100/],
    ['a garbage cursor', { after: 'garbage!!' }, /cursor/],
    ['a base64 cursor of the wrong shape', { after: Buffer.from('{"a":1}').toString('base64url') }, /cursor/],
    ['a cursor with a non-uuid id', { after: Buffer.from('["2024-01-01T00:00:00.000Z","x"]').toString('base64url') }, /cursor/],
  ])('%s → BAD_USER_INPUT', async (_name, vars, message) => {
    const res = await gql(server.url, user.token, LIST, vars);
    expect(res.data?.jobs ?? null).toBeNull();
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toMatch(message);
  });
});
