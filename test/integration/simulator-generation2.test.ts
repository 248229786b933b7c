import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, newUser, startTestServer, type TestServer } from '../helpers/app.js';

/**
 * `SIM_GENERATION=2 npm run worker:sim`: the simulator process, configured
 * like the fleet, speaks the second generation against a real server.
 */

let server: TestServer;
let sim: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  server = await startTestServer({ STARTING_CREDITS: '1000' });
  const token = await server.workerToken();
  sim = spawn(process.execPath, ['--import', 'tsx', 'sim/worker.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      SUPABASE_URL: server.url,
      SUPABASE_SERVICE_KEY: token,
      UPSTASH_REDIS_REST_URL: server.url,
      UPSTASH_REDIS_REST_TOKEN: token,
      SIM_SPEED: '100',
      SIM_POLL_MS: '50',
      SIM_GENERATION: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sim.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  sim.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const deadline = Date.now() + 30_000;
  while ((output.match(/worker started/g) ?? []).length < 2) {
    if (sim.exitCode !== null) throw new Error(`the simulator exited (${sim.exitCode}): ${output}`);
    if (Date.now() > deadline) throw new Error(`the simulator did not start: ${output}`);
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

describe('SIM_GENERATION=2', () => {
  it('says which generation it speaks and completes SDXL and WAN jobs through workspace-temp with thumbnails', { timeout: 60_000 }, async () => {
    expect(output).toMatch(/generation 2/);
    const user = await newUser(server);
    const ids: string[] = [];
    for (const input of [
      { jobType: 'sdxl_image_fast', prompt: 'sim gen 2 batch', numImages: 3 },
      { jobType: 'image_fast', prompt: 'sim gen 2 wan image' },
    ]) {
      const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }`, { i: input });
      expect(res.errors).toBeUndefined();
      ids.push(res.data!.queueJob.job.id);
    }
    const query = `query($id: ID!) { job(id: $id) { status numImages assets { bucket path contentType url thumbnailUrl } } }`;
    for (const id of ids) {
      let job: Record<string, any> = {};
      const deadline = Date.now() + 45_000;
      while (job.status !== 'completed') {
        if (Date.now() > deadline || job.status === 'failed') throw new Error(`job ${id}: ${JSON.stringify(job)}\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
        job = (await gql(server.url, user.token, query, { id })).data!.job;
      }
      expect(job.assets).toHaveLength(job.numImages);
      for (const [i, a] of job.assets.entries()) {
        expect(a.bucket).toBe('workspace-temp');
        expect(a.path).toMatch(new RegExp(`^${user.id}/${id}/(${i}\\.png|0\\.mp4)$`));
        // The WAN image arrives as "0.mp4" labelled video/mp4: it is listed and served as the PNG it is.
        expect(a.contentType).toBe('image/png');
        expect((await fetch(a.url)).headers.get('content-type')).toBe('image/png');
        const thumb = await fetch(a.thumbnailUrl);
        expect(thumb.headers.get('content-type')).toBe('image/webp');
        expect(Buffer.from(await thumb.arrayBuffer()).subarray(8, 12).toString('latin1')).toBe('WEBP');
      }
    }
  });

  it('refuses an unknown generation with a line that says what to set', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'sim/worker.ts'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        SUPABASE_URL: 'http://127.0.0.1:1',
        SUPABASE_SERVICE_KEY: 'k',
        UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:1',
        UPSTASH_REDIS_REST_TOKEN: 't',
        SIM_GENERATION: '3',
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/SIM_GENERATION must be 1 .* or 2/);
  });
});
