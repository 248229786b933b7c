import { sql } from 'drizzle-orm';
import { fleet, gql, type TestServer } from './app.js';

/**
 * Everything a refused request must leave untouched, read through the public
 * surface where there is one (credits, jobs and their versions, queue
 * lengths) and from the database for rows the API does not list (outputs,
 * usage logs, every user's totals).
 */
export async function snapshot(server: TestServer, user: { token: string }) {
  const worker = fleet(server.url, await server.workerToken());
  const res = await gql(server.url, user.token, `{ me { credits } jobs(first: 100) { edges { node { id status progress } } } }`);
  if (res.errors) throw new Error(`snapshot failed: ${JSON.stringify(res.errors)}`);
  const db = server.app.deps.db;
  const count = async (table: string) => {
    const result = (await db.execute(sql.raw(`select count(*)::int as n from ${table}`))) as unknown;
    const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
    return Number((rows[0] as { n: number }).n);
  };
  return {
    credits: res.data!.me.credits as number,
    jobs: (res.data!.jobs.edges as Array<{ node: { id: string; status: string; progress: number } }>).map(
      (e) => `${e.node.id}:${e.node.status}:${e.node.progress}`,
    ),
    sdxlQueue: await worker.llen('sdxl_queue'),
    wanQueue: await worker.llen('wan_queue'),
    rows: {
      users: await count('users'),
      jobs: await count('jobs'),
      images: await count(`images where status = 'completed'`),
      videos: await count(`videos where status = 'completed'`),
      usageLogs: await count('usage_logs'),
    },
  };
}
