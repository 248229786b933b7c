import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import { collect, fleet, gql, op, startTestServer, type TestServer, untilSubscribed, wsClient } from '../helpers/app.js';
import { JobUpdatedDocument, MeDocument, QueueJobDocument, type JobUpdatedSubscription } from '../operations/generated.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('a job from queueJob to signed asset URLs', () => {
  it('SDXL: queue, watch over websockets, pop, upload raw, progress, complete, download', async () => {
    const token = await server.userToken();
    const worker = fleet(server.url, await server.workerToken());
    const queued = await op(server.url, token, QueueJobDocument, {
      input: { jobType: 'sdxl_image_fast', prompt: '  a lighthouse at dusk  ', numImages: 3 },
    });
    expect(queued.errors).toBeUndefined();
    const job = queued.data!.queueJob.job;
    expect(job).toMatchObject({ status: 'queued', progress: 0, numImages: 3, queue: 'sdxl_queue', assets: [] });
    expect(queued.data!.queueJob.isSDXL).toBe(true);
    expect((await op(server.url, token, MeDocument)).data!.me.credits).toBe(100 - 3);

    const client = wsClient(server.wsUrl, token);
    const sub = collect<JobUpdatedSubscription>(client, print(JobUpdatedDocument), { id: job.id });
    await sub.next(1);
    expect(sub.events[0].data!.jobUpdated.status).toBe('queued');

    expect(await worker.llen('sdxl_queue')).toBe(1);
    const payload = await worker.pop('sdxl_queue');
    expect(payload).toMatchObject({ id: job.id, type: 'sdxl_image_fast', prompt: 'a lighthouse at dusk', config: { num_images: 3 } });
    expect(typeof payload!.negative_prompt).toBe('string');
    expect(await worker.pop('sdxl_queue')).toBeNull();

    const res = await worker.callback({ job_id: job.id, status: 'processing', progress: 40 });
    expect(res.status).toBe(200);
    await sub.next(2);
    expect(sub.events[1].data!.jobUpdated).toMatchObject({ status: 'processing', progress: 40 });

    const files = [0, 1, 2].map((n) => new Uint8Array([137, 80, 78, 71, n, n, n]));
    const paths: string[] = [];
    for (const [n, bytes] of files.entries()) {
      const path = `${payload!.user_id}/sdxl_${job.id}_1700000000_${n}.png`;
      const up = await worker.uploadRaw('sdxl_image_fast', path, bytes);
      expect(up.status).toBe(200);
      paths.push(path);
    }
    const done = await worker.callback({
      job_id: job.id,
      status: 'completed',
      assets: paths,
      metadata: { seed: 424242, generation_time: 12.5, num_images: 3 },
    });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ success: true, debug: { assetsProcessed: 3, jobStatus: 'completed' } });

    const events = await sub.completed();
    const last = events.at(-1)!.data!.jobUpdated;
    expect(last).toMatchObject({ status: 'completed', progress: 100, seed: 424242, generationTime: 12.5 });
    expect(last.assets.map((a: { path: string }) => a.path)).toEqual(paths);
    for (const [n, asset] of last.assets.entries()) {
      const body = new Uint8Array(await (await fetch(asset.url)).arrayBuffer());
      expect(Buffer.from(body).equals(Buffer.from(files[n]))).toBe(true);
      expect(Date.parse(asset.expiresAt)).toBeGreaterThan(Date.now());
    }
    await client.dispose();
  });

  it('WAN video: multipart upload becomes the video asset; myJobUpdates streams every change', async () => {
    const token = await server.userToken();
    const worker = fleet(server.url, await server.workerToken());
    const client = wsClient(server.wsUrl, token);
    const mine = collect(client, `subscription { myJobUpdates { id status progress assets { url contentType } } }`);
    await untilSubscribed(server.url, 1);
    const queued = await gql(server.url, token, `mutation { queueJob(input: { jobType: video_fast, prompt: "waves" }) { job { id } } }`);
    const id = queued.data!.queueJob.job.id;
    const payload = await worker.pop('wan_queue');
    expect(payload).toMatchObject({ id, type: 'video_fast', config: { frame_num: 83 } });
    expect(payload).not.toHaveProperty('negative_prompt');
    const path = `${payload!.user_id}/${payload!.video_id}.mp4`;
    const bytes = new Uint8Array([0, 0, 0, 24, 102, 116, 121, 112, 1, 2, 3]);
    expect((await worker.uploadMultipart('video_fast', path, bytes)).status).toBe(200);
    await worker.callback({ job_id: id, status: 'processing', progress: 10 });
    await worker.callback({ job_id: id, status: 'completed', assets: [path] });
    await mine.next(3);
    const statuses = mine.events.map((e) => e.data!.myJobUpdates.status);
    expect(statuses).toEqual(['queued', 'processing', 'completed']);
    const asset = mine.events[2].data!.myJobUpdates.assets[0];
    expect(asset.contentType).toBe('video/mp4');
    expect(Buffer.from(await (await fetch(asset.url)).arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    await client.dispose();
  });
});
