import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import { createDb } from '../../src/db/client.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { createMemoryEventBus, type MemoryEventBus } from '../../src/pubsub/memoryEvents.js';
import { createMemoryQueue } from '../../src/pubsub/memoryQueue.js';
import { NO_SCHEDULER, type Deps } from '../../src/resolvers/deps.js';
import { createLocalStorage } from '../../src/storage/local.js';
import { systemLookup } from '../../src/webhooks/addresses.js';

/** The domain's deps on real embedded backends, for tests that call `resolvers/` directly. */
export interface TestDeps {
  deps: Deps;
  /** The same bus as `deps.events`, with its subscriber count for leak checks. */
  events: MemoryEventBus;
  close(): Promise<void>;
}

/**
 * A clone of the migrated PGlite template, the in-process queue and event
 * bus and local-disk storage in a fresh temp folder: no server, no port, so a
 * domain rule's test runs in milliseconds. Settings are the configuration's
 * defaults unless overridden.
 */
export async function createTestDeps(settings: Partial<Deps['settings']> = {}): Promise<TestDeps> {
  const dir = mkdtempSync(join(tmpdir(), 'genjob-domain-'));
  cpSync(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true });
  const db = await createDb({ dataDir: join(dir, 'pglite'), migrate: false });
  const queue = createMemoryQueue();
  const events = createMemoryEventBus();
  const storage = createLocalStorage({ dir: join(dir, 'storage'), publicUrl: 'http://127.0.0.1:9', signingKey: 'domain-test-key' });
  const deps: Deps = {
    db: db.db,
    queue,
    events,
    storage,
    logger: pino({ level: 'silent' }),
    metrics: createMetrics({ defaults: false }),
    // MAX_ACTIVE_JOBS_PER_USER is out of the way (as in test/helpers/app.ts); its own suite sets it.
    settings: {
      startingCredits: 100,
      signedUrlTtl: 3600,
      jobTimeoutGrace: 600,
      maxAttempts: 2,
      transientErrorPattern: /CUDA|out of memory|\bOOM\b|timed out|timeout|connection (reset|refused)|ECONNRESET|ECONNREFUSED/i,
      windowSize: 0,
      allowPrivateReferences: false,
      maxActiveJobsPerUser: 1_000_000,
      ...settings,
    },
    scheduler: NO_SCHEDULER,
    webhookPolicy: { allowPrivate: false, lookup: systemLookup },
  };
  return {
    deps,
    events,
    async close() {
      await events.close();
      await queue.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
