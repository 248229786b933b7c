import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { fleet, gql, startOn, TEST_JWT_SECRET } from '../helpers/app.js';

const dataDir = mkdtempSync(join(tmpdir(), 'genjob-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded defaults across a restart', () => {
  it('jobs waiting in the in-process queue are pushed again by the next process', async () => {
    cpSync(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true });
    const env = { DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', SWEEP_INTERVAL_MS: '100' };
    const first = await startOn(env);
    const token = await first.userToken();
    // A job a worker took before the restart must not be pushed again.
    const taken = await gql(first.url, token, 'mutation { queueJob(input: { jobType: image_fast, prompt: "p" }) { job { id } } }');
    const takenPayload = await fleet(first.url, await first.workerToken()).pop('wan_queue');
    expect(takenPayload!.id).toBe(taken.data!.queueJob.job.id);
    const ids: string[] = [];
    for (const jobType of ['sdxl_image_fast', 'video_fast']) {
      const res = await gql(first.url, token, `mutation { queueJob(input: { jobType: ${jobType}, prompt: "p" }) { job { id } } }`);
      ids.push(res.data!.queueJob.job.id);
    }
    await first.close();

    // In the next process the in-process queue starts empty; nothing may be lost.
    const second = await startOn(env);
    try {
      const worker = fleet(second.url, await second.workerToken());
      const popped: string[] = [];
      for (let i = 0; i < 50 && popped.length < 2; i++) {
        for (const q of ['sdxl_queue', 'wan_queue']) {
          const p = await worker.pop(q);
          if (p) popped.push(p.id);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(popped.sort()).toEqual([...ids].sort());
      expect(await worker.pop('wan_queue')).toBeNull();
      expect(await worker.llen('sdxl_queue')).toBe(0);
    } finally {
      await second.close();
    }
  });
});
