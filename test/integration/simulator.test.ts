import { spawn, type ChildProcess } from 'node:child_process';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/resolvers/catalog.js';
import { JOB_TYPES, type JobType } from '../../src/vocabulary.js';
import { countMp4Frames, readMp4Boxes } from '../../sim/mp4.js';
import { collect, gql, startTestServer, type TestServer, untilSubscribed, wsClient } from '../helpers/app.js';

/**
 * The server in this process, the simulator worker as a separate process
 * speaking only HTTP to it (as the fleet does): one job of each of the 10
 * types runs to completion while graphql-ws clients watch, and every asset
 * downloads as a real PNG or MP4.
 */

const JOB_FIELDS = `id jobType status progress seed numImages
  assets { index bucket path url contentType }`;

let server: TestServer;
let sim: ChildProcess | undefined;
let simOutput = '';
let workerToken: string;

beforeAll(async () => {
  server = await startTestServer({ STARTING_CREDITS: '1000' });
  workerToken = await server.workerToken();
  sim = spawn(process.execPath, ['--import', 'tsx', 'sim/worker.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      SUPABASE_URL: server.url,
      SUPABASE_SERVICE_KEY: workerToken,
      UPSTASH_REDIS_REST_URL: server.url,
      UPSTASH_REDIS_REST_TOKEN: workerToken,
      SIM_SPEED: '200',
      SIM_POLL_MS: '100',
      SIM_FAIL_RATE: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sim.stdout!.setEncoding('utf8').on('data', (d: string) => (simOutput += d));
  sim.stderr!.setEncoding('utf8').on('data', (d: string) => (simOutput += d));
  // Both worker loops are polling before any job is queued.
  const deadline = Date.now() + 30_000;
  while ((simOutput.match(/worker started/g) ?? []).length < 2) {
    if (sim.exitCode !== null) throw new Error(`the simulator exited (${sim.exitCode}): ${simOutput}`);
    if (Date.now() > deadline) throw new Error(`the simulator did not start: ${simOutput}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  if (sim && sim.exitCode === null && sim.signalCode === null) {
    const exited = new Promise<void>((resolve) => sim!.once('exit', () => resolve()));
    sim.kill('SIGTERM');
    const timer = setTimeout(() => sim!.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  await server?.close();
});

describe('the simulator worker against the server, as separate processes', () => {
  it('completes one job of each of the 10 types, watched over graphql-ws, with real PNG and MP4 assets', { timeout: 60_000 }, async () => {
    const token = await server.userToken();
    const client = wsClient(server.wsUrl, token);
    try {
      // Every change to the user's jobs, from before the first job is queued.
      const all = collect(client, `subscription { myJobUpdates { id status progress } }`);
      await untilSubscribed(server.url, 1);

      const queued: Array<{ id: string; type: JobType; numImages: number; watch: ReturnType<typeof collect<Record<string, any>>> }> = [];
      for (const type of JOB_TYPES) {
        const numImages = type === 'sdxl_image_fast' ? 3 : 1;
        const res = await gql(server.url, token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }`, {
          i: { jobType: type, prompt: `simulated ${type}: a lighthouse at dusk`, numImages },
        });
        expect(res.errors, type).toBeUndefined();
        const id = res.data!.queueJob.job.id as string;
        const watch = collect(client, `subscription($id: ID!) { jobUpdated(id: $id) { ${JOB_FIELDS} } }`, { id });
        queued.push({ id, type, numImages, watch });
      }

      for (const job of queued) {
        const events = (await job.watch.completed(50_000)).map((e) => {
          expect(e.errors, `${job.type}: ${JSON.stringify(e.errors)}\n${simOutput}`).toBeUndefined();
          return e.data!.jobUpdated;
        });
        const last = events.at(-1)!;
        expect(last, `${job.type}\n${simOutput}`).toMatchObject({ id: job.id, status: 'completed', progress: 100 });
        const progress = events.map((e) => e.progress as number);
        expect(progress).toEqual([...progress].sort((a, b) => a - b));
        expect(Number.isInteger(last.seed)).toBe(true);

        // The whole history, from the stream opened before queueing.
        const history = all.events.map((e) => e.data!.myJobUpdates).filter((j) => j.id === job.id);
        const steps = history.map((j) => j.progress as number);
        expect(steps, job.type).toEqual([...steps].sort((a, b) => a - b));
        expect(steps, job.type).toEqual(expect.arrayContaining([25, 50, 75, 100]));
        expect(history[0].status).toBe('queued');
        expect(history.some((j) => j.status === 'processing')).toBe(true);
        expect(history.at(-1)).toMatchObject({ status: 'completed', progress: 100 });

        const entry = CATALOG[job.type];
        expect(last.assets).toHaveLength(job.numImages);
        const [width, height] = entry.sample.size.split('*').map(Number);
        for (const asset of last.assets) {
          expect(asset.bucket).toBe(entry.bucket);
          const res = await fetch(asset.url);
          expect(res.status, `${job.type} ${asset.path}`).toBe(200);
          expect(res.headers.get('content-type')).toMatch(entry.contentType);
          const bytes = Buffer.from(await res.arrayBuffer());
          if (entry.format === 'image') {
            const png = PNG.sync.read(bytes);
            expect([png.width, png.height], job.type).toEqual([width, height]);
          } else {
            const top = readMp4Boxes(bytes).map((b) => b.type);
            expect(top).toEqual(expect.arrayContaining(['ftyp', 'moov', 'mdat']));
            expect(top[0]).toBe('ftyp');
            expect(countMp4Frames(bytes), job.type).toBe(entry.sample.frame_num);
            expect(entry.sample.frame_num).toBe(83);
          }
        }
      }

      const me = await gql(server.url, token, '{ me { credits } }');
      const spent = queued.reduce((sum, j) => sum + CATALOG[j.type].creditCost * j.numImages, 0);
      expect(me.data!.me.credits).toBe(1000 - spent);
      expect(simOutput).not.toContain(workerToken);
      all.unsubscribe();
    } finally {
      await client.dispose();
    }
  });
});
