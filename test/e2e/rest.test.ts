import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobs, usageLogs, users } from '../../src/db/schema.js';
import { QUEUE_JOB_PATH, LEGACY_CORS_HEADERS } from '../../src/http/rest.js';
import { CATALOG } from '../../src/resolvers/catalog.js';
import { JOB_TYPES } from '../../src/vocabulary.js';
import { checkContentPolicy } from '../../src/resolvers/contentPolicy.js';
import { gql, type TestServer, serverForFile, type Fleet } from '../helpers/app.js';

/**
 * The legacy system's REST door (docs/legacy-api.md, "Queue job request/response" and
 * "Error response"), compared with the document field by field.
 */

let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

type Spec = 'string' | 'number' | 'boolean' | 'uuid' | 'iso' | readonly unknown[] | { [k: string]: Spec } | ((v: unknown) => boolean);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The legacy system's response example, with each value's type (enumerations as the document lists them). */
const SEED_RESPONSE: Record<string, Spec> = {
  success: 'boolean',
  job: {
    id: 'uuid',
    user_id: 'uuid',
    job_type: JOB_TYPES,
    format: ['image', 'video'],
    quality: ['fast', 'high'],
    model_type: 'string',
    status: ['queued'],
    metadata: {
      model_variant: ['lustify_sdxl', 'wan_2_1_1_3b'],
      queue: ['sdxl_queue', 'wan_queue'],
      negative_prompt: 'string', // SDXL only: removed from the spec for WAN jobs below
      num_images: [1, 3, 6],
      seed: (v) => v === null || (Number.isInteger(v) && (v as number) >= 0),
      expected_generation_time: 'number',
      content_type: ['image', 'video'],
      file_extension: ['png', 'mp4'],
    },
  },
  queueLength: 'number',
  modelVariant: 'string',
  isSDXL: 'boolean',
  negativePromptSupported: 'boolean',
};

const SEED_ERROR: Record<string, Spec> = {
  error: 'string',
  success: (v) => v === false,
  details: 'string',
  debug: { timestamp: 'iso', errorType: 'string' },
};

/** Every key of `spec` present in `actual` with the right type; reports all mismatches at once. */
function shapeProblems(actual: unknown, spec: Spec, at = '$'): string[] {
  if (typeof spec === 'function') return spec(actual) ? [] : [`${at}: ${JSON.stringify(actual)} rejected`];
  if (Array.isArray(spec)) return spec.includes(actual) ? [] : [`${at}: ${JSON.stringify(actual)} not one of ${spec.join('|')}`];
  if (spec === 'uuid') return typeof actual === 'string' && UUID.test(actual) ? [] : [`${at}: ${JSON.stringify(actual)} is not a UUID`];
  if (spec === 'iso') {
    return typeof actual === 'string' && !Number.isNaN(Date.parse(actual)) && actual.includes('T')
      ? []
      : [`${at}: ${JSON.stringify(actual)} is not an ISO timestamp`];
  }
  if (typeof spec === 'string') return typeof actual === spec ? [] : [`${at}: ${JSON.stringify(actual)} is not a ${spec}`];
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${at}: not an object`];
  return Object.entries(spec as Record<string, Spec>).flatMap(([k, s]) =>
    k in actual ? shapeProblems((actual as Record<string, unknown>)[k], s, `${at}.${k}`) : [`${at}.${k}: missing`],
  );
}

/** The keys (`"key":`) of the first ```json block under a heading of docs/legacy-api.md. */
function legacyDocKeys(heading: string): string[] {
  const doc = readFileSync(join(process.cwd(), 'docs', 'legacy-api.md'), 'utf8');
  const at = doc.indexOf(`\n## ${heading}\n`);
  if (at < 0) throw new Error(`docs/legacy-api.md has no "## ${heading}" section`);
  const block = /```json\n([\s\S]*?)```/.exec(doc.slice(at))![1];
  return [...new Set([...block.matchAll(/"(\w+)":/g)].map((m) => m[1]))];
}

function specKeys(spec: Record<string, Spec>): string[] {
  return Object.entries(spec).flatMap(([k, s]) =>
    typeof s === 'object' && !Array.isArray(s) ? [k, ...specKeys(s as Record<string, Spec>)] : [k],
  );
}

async function post(body: unknown, token: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${QUEUE_JOB_PATH}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function expectCors(res: Response): void {
  for (const [name, value] of Object.entries(LEGACY_CORS_HEADERS)) expect(res.headers.get(name), name).toBe(value);
  expect(res.headers.get('access-control-allow-credentials')).toBeNull();
}

/** Pops from a queue until the payload of job `id` (payloads of other tests' jobs are dropped). */
async function popJob(queue: string, id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const payload = await worker.pop(queue);
    if (payload === null) break;
    if (payload.id === id) return payload;
  }
  throw new Error(`payload of job ${id} not found in ${queue}`);
}

async function creditsOf(token: string): Promise<number> {
  const me = await gql(server.url, token, '{ me { credits } }');
  return me.data!.me.credits;
}

/** Everything a rejected request must leave untouched. */
async function snapshot(userId: string, token: string) {
  const db = server.app.deps.db;
  return {
    credits: await creditsOf(token),
    jobs: (await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.userId, userId))).length,
    usage: (await db.select({ id: usageLogs.id }).from(usageLogs).where(eq(usageLogs.userId, userId))).length,
    sdxl: await worker.llen('sdxl_queue'),
    wan: await worker.llen('wan_queue'),
  };
}

const SEED_EXAMPLE = {
  jobType: 'sdxl_image_fast',
  metadata: {
    prompt: 'a lighthouse on a cliff at dusk',
    num_images: 3,
    seed: 123456789,
    reference_image_url: 'https://93.184.215.14/reference.jpg',
    reference_type: 'composition',
    reference_strength: 0.7,
    credits: 1,
  },
  projectId: randomUUID(),
};

describe('POST /functions/v1/queue-job: the seed request and response', () => {
  it('the test spec covers every key docs/legacy-api.md documents', () => {
    const request = legacyDocKeys('Queue job request');
    const response = legacyDocKeys('Queue job response');
    const error = legacyDocKeys('Error response');
    expect(request.sort()).toEqual(
      ['jobType', 'metadata', 'prompt', 'num_images', 'seed', 'reference_image_url', 'reference_type', 'reference_strength', 'credits', 'projectId', 'videoId', 'imageId'].sort(),
    );
    expect(response.sort()).toEqual(specKeys(SEED_RESPONSE).sort());
    expect(error.sort()).toEqual(specKeys(SEED_ERROR).sort());
  });

  it('answers the seed example (SDXL, 3 images, seed, reference) with every key of the seed response', async () => {
    const userId = randomUUID();
    const token = await server.userToken(userId);
    const res = await post(SEED_EXAMPLE, token, { origin: 'https://app.example.com' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectCors(res);
    const body = await res.json();
    expect(shapeProblems(body, SEED_RESPONSE)).toEqual([]);
    expect(body).toMatchObject({
      success: true,
      job: {
        user_id: userId,
        job_type: 'sdxl_image_fast',
        format: 'image',
        quality: 'fast',
        model_type: 'sdxl',
        status: 'queued',
        prompt: 'a lighthouse on a cliff at dusk',
        project_id: SEED_EXAMPLE.projectId,
        metadata: {
          model_variant: 'lustify_sdxl',
          queue: 'sdxl_queue',
          num_images: 3,
          seed: 123456789,
          expected_generation_time: CATALOG.sdxl_image_fast.expectedGenerationTime * 3,
          content_type: 'image',
          file_extension: 'png',
          reference_image_url: 'https://93.184.215.14/reference.jpg',
          reference_type: 'composition',
          reference_strength: 0.7,
          dual_worker_routing: true,
          negative_prompt_supported: true,
        },
      },
      modelVariant: 'lustify_sdxl',
      isSDXL: true,
      negativePromptSupported: true,
    });
    expect(body.job.metadata.negative_prompt.length).toBeGreaterThan(20);
    expect(typeof body.job.metadata.edge_function_version).toBe('string');
    expect(body.queueLength).toBeGreaterThanOrEqual(1);
    expect(Date.parse(body.job.created_at)).toBeGreaterThan(Date.now() - 60_000);

    // The same job through the GraphQL door: one domain.
    const viaGql = await gql(server.url, token, 'query($id: ID!) { job(id: $id) { id status numImages seed metadata } }', {
      id: body.job.id,
    });
    expect(viaGql.data!.job).toMatchObject({ id: body.job.id, status: 'queued', numImages: 3, seed: 123456789 });
    expect(viaGql.data!.job.metadata).toEqual(body.job.metadata);

    const payload = await popJob('sdxl_queue', body.job.id);
    expect(payload).toMatchObject({
      type: 'sdxl_image_fast',
      user_id: userId,
      config: { num_images: 3, seed: 123456789 },
      metadata: { reference_image_url: 'https://93.184.215.14/reference.jpg', reference_type: 'composition', reference_strength: 0.7 },
    });
  });

  it('answers a WAN video job without negative_prompt, isSDXL false', async () => {
    const token = await server.userToken();
    const res = await post({ jobType: 'video_fast', metadata: { prompt: 'waves at night' } }, token);
    expect(res.status).toBe(200);
    expectCors(res);
    const body = await res.json();
    const { negative_prompt: _omit, ...wanMetadata } = (SEED_RESPONSE.job as Record<string, any>).metadata;
    const wanSpec = { ...SEED_RESPONSE, job: { ...(SEED_RESPONSE.job as object), metadata: wanMetadata } };
    expect(shapeProblems(body, wanSpec)).toEqual([]);
    expect(body.job.metadata).not.toHaveProperty('negative_prompt');
    expect(body).toMatchObject({
      job: {
        job_type: 'video_fast',
        format: 'video',
        model_type: 'wan',
        metadata: { model_variant: 'wan_2_1_1_3b', queue: 'wan_queue', num_images: 1, seed: null, content_type: 'video', file_extension: 'mp4', negative_prompt_supported: false },
      },
      modelVariant: 'wan_2_1_1_3b',
      isSDXL: false,
      negativePromptSupported: false,
    });
    await popJob('wan_queue', body.job.id);
  });

  it('uses the client videoId/imageId for the output rows and the WAN payload', async () => {
    const token = await server.userToken();
    const videoId = randomUUID();
    const res = await post({ jobType: 'video7b_fast_enhanced', metadata: { prompt: 'a fox' }, videoId }, token);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.job.model_type).toBe('enhanced-7b');
    const payload = await popJob('wan_queue', body.job.id);
    expect(payload.video_id).toBe(videoId);
    expect(payload.config).toMatchObject({ enhance_prompt: true, frame_num: 83 });
  });

  it('treats the legacy single reference (a URL without a type) as a style reference', async () => {
    const token = await server.userToken();
    const res = await post(
      { jobType: 'sdxl_image_high', metadata: { prompt: 'a castle', reference_image_url: 'https://93.184.215.14/reference.jpg' } },
      token,
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.job.metadata).toMatchObject({ reference_type: 'style', reference_strength: 0.5 });
    const payload = await popJob('sdxl_queue', body.job.id);
    expect(payload.metadata).toEqual({
      reference_image_url: 'https://93.184.215.14/reference.jpg',
      reference_type: 'style',
      reference_strength: 0.5,
      // The second fleet generation's names for the same request.
      denoise_strength: 0.5,
      exact_copy_mode: false,
    });
  });

  it('ignores the client-sent credits: charges the catalog price', async () => {
    const userId = randomUUID();
    const token = await server.userToken(userId);
    const before = await creditsOf(token);
    const res = await post({ jobType: 'sdxl_image_high', metadata: { prompt: 'a garden', num_images: 3, credits: 1 } }, token);
    expect(res.status).toBe(200);
    const body = await res.json();
    const price = CATALOG.sdxl_image_high.creditCost * 3;
    expect(price).not.toBe(1);
    expect(await creditsOf(token)).toBe(before - price);
    expect(body.job.metadata.credits).toBe(price);
    const logs = await server.app.deps.db.select().from(usageLogs).where(eq(usageLogs.userId, userId));
    expect(logs.map((l) => l.creditsConsumed)).toEqual([price]);
    await popJob('sdxl_queue', body.job.id);

    // A negative or huge client value changes nothing either.
    const res2 = await post({ jobType: 'sdxl_image_fast', metadata: { prompt: 'a garden', credits: -1000 } }, token);
    expect(res2.status).toBe(200);
    expect(await creditsOf(token)).toBe(before - price - CATALOG.sdxl_image_fast.creditCost);
    await popJob('sdxl_queue', (await res2.json()).job.id);
  });

  it('maps start/end frame references of video jobs and the Idempotency-Key header', async () => {
    const token = await server.userToken();
    const key = randomUUID();
    const body = {
      jobType: 'video_high',
      metadata: {
        prompt: 'a sunrise',
        start_reference_image_url: 'https://93.184.215.14/first.png',
        end_reference_image_url: 'https://93.184.215.14/last.png',
        reference_strength: 0.8,
      },
    };
    const first = await (await post(body, token, { 'idempotency-key': key })).json();
    const again = await (await post(body, token, { 'idempotency-key': key })).json();
    expect(again.job.id).toBe(first.job.id);
    const payload = await popJob('wan_queue', first.job.id);
    expect(payload.metadata).toEqual({
      start_reference_image_url: 'https://93.184.215.14/first.png',
      end_reference_image_url: 'https://93.184.215.14/last.png',
      reference_strength: 0.8,
      // The second fleet generation's names for the same request.
      start_reference_url: 'https://93.184.215.14/first.png',
      end_reference_url: 'https://93.184.215.14/last.png',
      denoise_strength: 0.2,
      exact_copy_mode: false,
    });
  });
});

describe('POST /functions/v1/queue-job: errors in the seed shape, and nothing changes', () => {
  let userId: string;
  let token: string;
  beforeAll(async () => {
    userId = randomUUID();
    token = await server.userToken(userId);
    await creditsOf(token); // creates the account
  });

  async function rejected(
    res: Response,
    status: number,
    errorType: string,
    before: Awaited<ReturnType<typeof snapshot>>,
  ): Promise<Record<string, any>> {
    expect(res.status).toBe(status);
    expectCors(res);
    const body = await res.json();
    expect(shapeProblems(body, SEED_ERROR)).toEqual([]);
    expect(body.debug.errorType).toBe(errorType);
    expect(await snapshot(userId, token)).toEqual(before);
    return body;
  }

  it('400 for an unknown job type, listing the valid job types', async () => {
    const before = await snapshot(userId, token);
    const body = await rejected(await post({ jobType: 'sdxl_image_ultra', metadata: { prompt: 'x' } }, token), 400, 'BAD_USER_INPUT', before);
    expect(body.error).toBe('Invalid job type');
    for (const t of JOB_TYPES) expect(body.details).toContain(t);
    expect(body.debug.validJobTypes).toEqual([...JOB_TYPES]);
    const missing = await rejected(await post({ metadata: { prompt: 'x' } }, token), 400, 'BAD_USER_INPUT', before);
    for (const t of JOB_TYPES) expect(missing.details).toContain(t);
  });

  it('400 for parameters, with the same validation and allowed values as GraphQL', async () => {
    const before = await snapshot(userId, token);
    const rest = await rejected(
      await post({ jobType: 'sdxl_image_fast', metadata: { prompt: 'x', num_images: 2 } }, token),
      400,
      'BAD_USER_INPUT',
      before,
    );
    expect(rest.error).toBe('Invalid parameters');
    expect(rest.details).toContain('1, 3, 6');
    expect(rest.debug).toMatchObject({ field: 'metadata.num_images', allowed: [1, 3, 6] });
    const viaGql = await gql(server.url, token, 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "x", numImages: 2 }) { job { id } } }');
    expect(viaGql.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(rest.details).toBe(viaGql.errors![0].message.replace(/^numImages/, 'metadata.num_images'));

    const cases: Array<[unknown, string]> = [
      [{ jobType: 'image_fast', metadata: { prompt: 'x', num_images: 3 } }, 'metadata.num_images'],
      [{ jobType: 'image_fast', metadata: { prompt: '   ' } }, 'metadata.prompt'],
      [{ jobType: 'image_fast', metadata: {} }, 'metadata.prompt'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x', seed: -1 } }, 'metadata.seed'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x', seed: '12' } }, 'metadata.seed'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x', reference_image_url: 'ftp://x/y.png' } }, 'metadata.reference_image_url'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x', reference_image_url: 'https://x/y.png', reference_type: 'pose' } }, 'metadata.reference_type'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x', reference_image_url: 'https://x/y.png', reference_strength: 1.5 } }, 'metadata.reference_strength'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x', start_reference_image_url: 'https://x/y.png' } }, 'metadata.start_reference_image_url'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x' }, videoId: 'not-a-uuid' }, 'videoId'],
      [{ jobType: 'image_fast', metadata: { prompt: 'x' }, projectId: 42 }, 'projectId'],
      [{ jobType: 'image_fast', metadata: 'x' }, 'metadata'],
    ];
    for (const [request, field] of cases) {
      const body = await rejected(await post(request, token), 400, 'BAD_USER_INPUT', before);
      expect(body.debug.field, JSON.stringify(request)).toBe(field);
      expect(body.details.startsWith(field) || body.details.includes(field), body.details).toBe(true);
    }
    for (const raw of ['{not json', '[1,2]', '"a string"', '']) {
      const body = await rejected(await post(raw, token), 400, 'BAD_USER_INPUT', before);
      expect(body.details).toMatch(/JSON object/);
    }
  });

  it('400 CONTENT_POLICY for a refused prompt (no debit, no job)', async () => {
    const prompt = 'child, nude';
    expect(checkContentPolicy(prompt).allowed).toBe(false);
    const before = await snapshot(userId, token);
    const body = await rejected(await post({ jobType: 'sdxl_image_fast', metadata: { prompt } }, token), 400, 'CONTENT_POLICY', before);
    expect(body.error).toBe('Content policy violation');
    expect(body.details).toMatch(/not allowed/);
    expect(body.details).not.toContain(prompt); // never echoes the prompt
    expect(body.debug.rule).toBe((checkContentPolicy(prompt) as { rule?: string }).rule);
  });

  it('402 INSUFFICIENT_CREDITS naming the price and the balance', async () => {
    const poorId = randomUUID();
    const poor = await server.userToken(poorId);
    await server.app.deps.db.insert(users).values({ id: poorId, credits: 3 });
    const before = await snapshot(poorId, poor);
    const res = await post({ jobType: 'sdxl_image_high', metadata: { prompt: 'x', num_images: 6 } }, poor);
    expect(res.status).toBe(402);
    expectCors(res);
    const body = await res.json();
    expect(shapeProblems(body, SEED_ERROR)).toEqual([]);
    expect(body).toMatchObject({ error: 'Insufficient credits', debug: { errorType: 'INSUFFICIENT_CREDITS', required: 12, available: 3 } });
    expect(await snapshot(poorId, poor)).toEqual(before);
  });

  it('401 without a token or with an invalid one; 403 for a worker token', async () => {
    const before = await snapshot(userId, token);
    const ok = { jobType: 'image_fast', metadata: { prompt: 'x' } };
    const none = await rejected(await post(ok, null), 401, 'UNAUTHENTICATED', before);
    expect(none.error).toBe('Authentication required');
    expect(none.details).toMatch(/Authorization: Bearer/);
    await rejected(await post(ok, 'not-a-jwt'), 401, 'UNAUTHENTICATED', before);
    await rejected(await post(ok, null, { authorization: 'Bearer ' }), 401, 'UNAUTHENTICATED', before);
    const forged = (await server.userToken(userId)).slice(0, -4) + 'AAAA';
    await rejected(await post(ok, forged), 401, 'UNAUTHENTICATED', before);
    const w = await rejected(await post(ok, await server.workerToken()), 403, 'FORBIDDEN', before);
    expect(w.details).toMatch(/user token/);
    // A bad token is refused before the body is even read.
    await rejected(await post('{not json', null), 401, 'UNAUTHENTICATED', before);
  });

  it('405 for other methods; 413 for an oversized body', async () => {
    const before = await snapshot(userId, token);
    const get = await fetch(`${server.url}${QUEUE_JOB_PATH}`, { headers: { authorization: `Bearer ${token}` } });
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    await rejected(get, 405, 'METHOD_NOT_ALLOWED', before);
    const huge = JSON.stringify({ jobType: 'image_fast', metadata: { prompt: 'x'.repeat(2 * 1024 * 1024) } });
    await rejected(await post(huge, token), 413, 'BAD_USER_INPUT', before);
  });

  it('500 masked with an error id when something unexpected fails', async () => {
    const before = await snapshot(userId, token);
    // A real fault, no mocks: the usage log's table is missing for one request.
    const db = server.app.deps.db;
    await db.execute(sql.raw('alter table usage_logs rename to usage_logs_hidden_by_rest_test'));
    let res: Response;
    try {
      res = await post({ jobType: 'image_fast', metadata: { prompt: 'x' } }, token);
    } finally {
      await db.execute(sql.raw('alter table usage_logs_hidden_by_rest_test rename to usage_logs'));
    }
    const body = await rejected(res, 500, 'INTERNAL_SERVER_ERROR', before);
    expect(JSON.stringify(body)).not.toMatch(/usage_logs|relation|insert/i);
    expect(body.error).toBe('Internal server error');
    expect(body.debug.errorId).toMatch(UUID);
    expect(body.details).toContain(body.debug.errorId);
  });
});

describe('CORS as the seed edge functions answer it', () => {
  it('answers an OPTIONS preflight with the seed headers', async () => {
    const res = await fetch(`${server.url}${QUEUE_JOB_PATH}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-custom',
      },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expectCors(res);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, x-client-info, apikey, content-type');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
  });

  it('answers a preflight without an Origin the same way', async () => {
    const res = await fetch(`${server.url}${QUEUE_JOB_PATH}`, { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expectCors(res);
  });

  it('puts the seed headers on answers to requests with an Origin (success and error alike)', async () => {
    const err = await post({}, null, { origin: 'https://evil.example' });
    expect(err.status).toBe(401);
    expectCors(err);
    expect(err.headers.get('vary')).toBeNull();
  });

  it('leaves the other paths to the GraphQL server CORS', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    // Whatever the GraphQL server answers, it is not this door's preflight.
    expect(await res.text()).not.toBe('ok');
    expect(res.headers.get('access-control-allow-headers')).not.toBe(LEGACY_CORS_HEADERS['Access-Control-Allow-Headers']);
  });
});
