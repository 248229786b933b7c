import { sql } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet, gql, newUser, startTestServer, type TestServer } from '../helpers/app.js';

/**
 * A job's outputs come from exactly one attempt, on both fleet generations:
 * a re-run is handed out under a new payload id, so its second-generation
 * folder (`<user_id>/<payload id>/`) and its WAN file name (`video_id`) are
 * its own; the vanished attempt's folder no longer takes uploads, and its
 * late report changes nothing.
 */

let server: TestServer;
let worker: ReturnType<typeof fleet>;
beforeAll(async () => {
  server = await startTestServer({ SWEEP_INTERVAL_MS: '100', JOB_TIMEOUT_GRACE: '1' });
  worker = fleet(server.url, await server.workerToken());
});
afterAll(async () => {
  await server?.close();
});

const png = () => sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).png().toBuffer();

async function queueAndTake(token: string, jobType: string, queue: string) {
  const res = await gql(server.url, token, `mutation($t: JobType!) { queueJob(input: { jobType: $t, prompt: "attempt outputs" }) { job { id } } }`, { t: jobType });
  expect(res.errors).toBeUndefined();
  const id: string = res.data!.queueJob.job.id;
  const first = (await worker.pop(queue))!;
  expect(first.id).toBe(id);
  return { id, first };
}

/** Gives up on the current attempt (as the sweeper does after its silence) and takes the re-run. */
async function rerun(id: string, queue: string) {
  await server.app.deps.db.execute(sql`update jobs set last_seen_at = now() - interval '1 hour', picked_at = now() - interval '1 hour' where id = ${id}`);
  for (let i = 0; i < 100; i++) {
    const again = await worker.pop(queue);
    if (again) return again;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the job was not handed out again');
}

describe('outputs of a re-run attempt', () => {
  it('second generation: the new payload id is the folder; the old folder is refused; the old report is ignored', async () => {
    const user = await newUser(server);
    const { id, first } = await queueAndTake(user.token, 'sdxl_image_fast', 'sdxl_queue');
    const second = await rerun(id, 'sdxl_queue');
    expect(second.id).not.toBe(first.id);
    const bytes = await png();

    // The vanished attempt's folder is no longer this job's.
    const stale = await worker.uploadRaw('workspace-temp', `${user.id}/${first.id}/0.png`, bytes, 'image/png');
    expect(stale.status).toBeGreaterThanOrEqual(400);
    const late = await worker.callback({ job_id: first.id, status: 'completed', assets: [{ type: 'image', url: `${user.id}/${first.id}/0.png` }] });
    expect(late.status).toBe(200);

    const folder = `${user.id}/${second.id}`;
    expect((await worker.uploadRaw('workspace-temp', `${folder}/0.png`, bytes, 'image/png')).status).toBe(200);
    const done = await worker.callback({ job_id: second.id, status: 'completed', assets: [{ type: 'image', url: `${folder}/0.png` }] });
    expect(done.status, await done.clone().text()).toBe(200);
    const job = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { status attempts assets { bucket path } } }`, { id });
    expect(job.data!.job).toEqual({ status: 'completed', attempts: 2, assets: [{ bucket: 'workspace-temp', path: `${folder}/0.png` }] });
  });

  it('first generation WAN: each attempt names its file after its own video_id', async () => {
    const user = await newUser(server);
    const { id, first } = await queueAndTake(user.token, 'video_fast', 'wan_queue');
    const second = await rerun(id, 'wan_queue');
    expect(second.video_id).not.toBe(first.video_id);
    expect(second.video_id).toBe(second.id);
    // Both upload without x-upsert (multipart): the re-run's file does not collide with the first's.
    const mp4 = new Uint8Array([0, 0, 0, 24, 102, 116, 121, 112, 105, 115, 111, 109, 0, 0, 0, 0]);
    expect((await worker.uploadMultipart('video_fast', `${user.id}/${first.video_id}.mp4`, mp4)).status).toBe(200);
    expect((await worker.uploadMultipart('video_fast', `${user.id}/${second.video_id}.mp4`, mp4)).status).toBe(200);
    await worker.callback({ job_id: second.id, status: 'completed', assets: [`${user.id}/${second.video_id}.mp4`] });
    const job = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { status assets { path } } }`, { id });
    expect(job.data!.job).toEqual({ status: 'completed', assets: [{ path: `${user.id}/${second.video_id}.mp4` }] });
  });
});
