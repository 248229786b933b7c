import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../sim/simulator.js';
import { collect, gql, newUser, startTestServer, type TestServer, untilSubscribed, wsClient } from '../helpers/app.js';

/**
 * A mixed deployment: a worker of each fleet generation on both queues of
 * one server at the same time (the simulator speaks each generation's HTTP
 * calls exactly). Every job completes exactly once, whichever generation
 * took it, with its assets in the bucket that generation uploads to and a
 * thumbnail wherever one can be had.
 */

let server: TestServer;
const sims: SimulatorHandle[] = [];
const logs: Record<1 | 2, string[]> = { 1: [], 2: [] };

beforeAll(async () => {
  server = await startTestServer({ STARTING_CREDITS: '1000' });
  const token = await server.workerToken();
  for (const generation of [1, 2] as const) {
    sims.push(
      startSimulator({
        supabaseUrl: server.url,
        serviceKey: token,
        queueUrl: server.url,
        queueToken: token,
        speed: 100,
        failRate: 0,
        queues: ['sdxl_queue', 'wan_queue'],
        pollMs: 20,
        generation,
        log: (line) => logs[generation].push(line),
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await server?.close();
});

describe('both fleet generations on the same queues at once', () => {
  it('every job completes exactly once, with assets where its generation put them', { timeout: 120_000 }, async () => {
    const user = await newUser(server);
    const client = wsClient(server.wsUrl, user.token);
    try {
      const updates = collect(client, `subscription { myJobUpdates { id status } }`);
      await untilSubscribed(server.url, 1);
      const plan: Array<{ jobType: string; numImages: number }> = [
        ...Array.from({ length: 8 }, (_, i) => ({ jobType: 'sdxl_image_fast', numImages: i % 2 ? 3 : 1 })),
        ...Array.from({ length: 4 }, () => ({ jobType: 'image_fast', numImages: 1 })),
        ...Array.from({ length: 2 }, () => ({ jobType: 'video_fast', numImages: 1 })),
      ];
      const ids: string[] = [];
      for (const [i, p] of plan.entries()) {
        const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }`, {
          i: { ...p, prompt: `mixed deployment ${i}` },
        });
        expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
        ids.push(res.data!.queueJob.job.id);
      }

      const finished = () => new Set(updates.events.filter((e) => e.data?.myJobUpdates.status === 'completed').map((e) => e.data!.myJobUpdates.id));
      const deadline = Date.now() + 100_000;
      while (finished().size < ids.length) {
        const failed = updates.events.find((e) => e.data?.myJobUpdates.status === 'failed');
        if (failed) throw new Error(`a job failed: ${JSON.stringify(failed)}; logs: ${JSON.stringify(logs)}`);
        if (Date.now() > deadline) throw new Error(`not all jobs completed; logs: ${JSON.stringify(logs)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      // Completed once each: one completed event per job, and no callback was refused or lost.
      const completedEvents = updates.events.filter((e) => e.data?.myJobUpdates.status === 'completed').map((e) => e.data!.myJobUpdates.id);
      expect(completedEvents.sort()).toEqual([...ids].sort());
      expect([...logs[1], ...logs[2]].filter((l) => /answered HTTP|lost|failed/.test(l))).toEqual([]);

      const res = await gql(
        server.url,
        user.token,
        `query { jobs(first: 50) { edges { node { id jobType numImages status assets { bucket path url contentType thumbnailUrl } } } } }`,
      );
      const jobs = res.data!.jobs.edges.map((e: any) => e.node);
      expect(jobs).toHaveLength(ids.length);
      const byGeneration = { 1: 0, 2: 0 };
      for (const job of jobs) {
        expect(job.status).toBe('completed');
        expect(job.assets).toHaveLength(job.numImages);
        const second = job.assets[0].bucket === 'workspace-temp';
        byGeneration[second ? 2 : 1]++;
        for (const a of job.assets) {
          expect(a.bucket, JSON.stringify(job)).toBe(second ? 'workspace-temp' : job.jobType);
          const video = job.jobType.startsWith('video');
          expect(a.contentType).toBe(video ? 'video/mp4' : 'image/png');
          const got = await fetch(a.url);
          expect(got.status).toBe(200);
          expect(got.headers.get('content-type')).toBe(a.contentType);
          const head = Buffer.from(await got.arrayBuffer()).subarray(0, 12);
          if (video) expect(head.subarray(4, 8).toString('latin1')).toBe('ftyp');
          else expect(head.subarray(1, 4).toString('latin1')).toBe('PNG');
          // The second generation uploads a thumbnail for everything; the server makes the first generation's.
          expect(a.thumbnailUrl, JSON.stringify(a)).toEqual(expect.any(String));
          const thumb = await fetch(a.thumbnailUrl);
          expect(thumb.status).toBe(200);
          expect(thumb.headers.get('content-type')).toBe('image/webp');
          await thumb.arrayBuffer();
        }
      }
      // Both generations really took part.
      expect(byGeneration[1]).toBeGreaterThan(0);
      expect(byGeneration[2]).toBeGreaterThan(0);
    } finally {
      await client.dispose();
    }
  });
});
