/**
 * Measurement 6: cold start of the production command `node dist/server.js`
 * (built first by `npm run build` when stale; the build also caches an
 * initialised PGlite template), from
 * spawn() to the first `GET /health` 200 (polled every 5 ms), to the first
 * `GET /ready` 200 (database, queue and storage answer), and to the answer of
 * a first queueJob sent right after that.
 *
 *   embedded, first boot: an empty DATA_DIR (filled from the build's cached
 *     template) — what a first `npm start` costs after its build;
 *   embedded: an existing, initialised DATA_DIR (every later start);
 *   production, first boot: an empty database (migrations run);
 *   production: an existing, migrated database, Redis reachable.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { ensureBuilt } from '../../scripts/build.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb } from '../../src/db/client.js';
import { embeddedBackend, productionBackend, type Backend, type BackendName } from '../lib/backends.js';
import { boot, type Ctx } from '../lib/context.js';
import { request } from '../lib/http.js';
import { log, round, signToken, summarize, uuid, type Summary } from '../lib/util.js';
import { QUEUE_JOB } from '../load/http-load.js';

export interface Boot {
  healthMs: number;
  readyMs: number;
  /** spawn → the first queueJob's answer (sent as soon as /ready said 200). */
  firstQueueJobMs: number;
}

export interface ColdStartResult {
  firstBoot: Boot | null;
  /**
   * Embedded only: PGlite's own initialisation of an empty directory plus the
   * migrations, without a template (what the build pays once per migration
   * set to cache the template), in ms.
   */
  pgliteInitMs?: number;
  runs: Boot[];
  health: Summary;
  ready: Summary;
  firstQueueJob: Summary;
}

export async function coldStartPhase(ctx: Ctx, name: BackendName): Promise<ColdStartResult> {
  const o = ctx.opts;
  const backend: Backend =
    name === 'embedded'
      ? // Either an empty DATA_DIR (first boot measured) or a copy of the initialised template.
        await embeddedBackend(ctx.settings, { initialised: !o.coldFirstBoot })
      : await productionBackend(ctx.settings);
  ctx.open.add(backend);
  const once = async (label: string): Promise<Boot> => {
    const token = await signToken(ctx.settings.jwtSecret, uuid());
    const b = await boot(ctx, name, { label, backend, script });
    try {
      const t = performance.now();
      const answer = await request(
        false,
        new URL('/graphql', b.server.url),
        'POST',
        { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        JSON.stringify({ query: QUEUE_JOB, variables: { input: { jobType: 'sdxl_image_fast', prompt: 'a lighthouse at dusk', numImages: 1 } } }),
      );
      if (answer.status !== 200 || !answer.text.includes('"queueJob"')) throw new Error(`first queueJob: HTTP ${answer.status} ${answer.text.slice(0, 200)}`);
      return {
        healthMs: round(b.server.healthMs, 1),
        readyMs: round(b.server.bootMs, 1),
        firstQueueJobMs: round(b.server.bootMs + performance.now() - t, 1),
      };
    } finally {
      await b.server.stop();
    }
  };
  // The production command, built before anything is timed. Smoke runs (which
  // only keep these scripts from rotting; the build has its own test) start
  // the sources through tsx instead of paying for a build.
  const script = o.smoke ? 'src/server.ts' : 'dist/server.js';
  const built = performance.now();
  if (!o.smoke && (await ensureBuilt({ quiet: true }))) log(`${name} cold start: built dist/ first (${Math.round(performance.now() - built)} ms)`);
  try {
    // Production always boots once on the empty database first (that applies the migrations).
    const firstBoot = name === 'production' || o.coldFirstBoot ? await once('coldstart-first') : null;
    const runs: Boot[] = [];
    for (let i = 0; i < o.coldRuns; i++) runs.push(await once(`coldstart-${i + 1}`));
    let pgliteInitMs: number | undefined;
    if (name === 'embedded' && o.coldFirstBoot) {
      const dir = await mkdtemp(join(tmpdir(), 'genjob-pglite-init-'));
      const t = performance.now();
      const db = await createDb({ dataDir: join(dir, 'pglite'), template: false });
      pgliteInitMs = round(performance.now() - t, 1);
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
    const result: ColdStartResult = {
      firstBoot,
      pgliteInitMs,
      runs,
      health: summarize(runs.map((r) => r.healthMs)),
      ready: summarize(runs.map((r) => r.readyMs)),
      firstQueueJob: summarize(runs.map((r) => r.firstQueueJobMs)),
    };
    const fmt = (b: Boot) => `/health ${b.healthMs}, /ready ${b.readyMs}, first queueJob ${b.firstQueueJobMs}`;
    log(`${name} cold start: first boot ${firstBoot ? fmt(firstBoot) : 'n/a'}; existing data: ${runs.map(fmt).join(' | ')} (ms)`);
    return result;
  } finally {
    ctx.open.delete(backend);
    await backend.close();
  }
}
