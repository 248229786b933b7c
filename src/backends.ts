import { deriveKey, loadOrCreateSecret } from './auth/tokens.js';
import type { Config } from './config.js';
import { createDb, type DbHandle } from './db/client.js';
import type { EventBus } from './pubsub/events.js';
import { createMemoryEventBus } from './pubsub/memoryEvents.js';
import { createMemoryQueue } from './pubsub/memoryQueue.js';
import type { WorkerQueue } from './pubsub/queue.js';
import { assertRedisReachable, type RedisLogger } from './pubsub/redisConnection.js';
import { createRedisEventBus } from './pubsub/redisEvents.js';
import { createRedisQueue } from './pubsub/redisQueue.js';
import { createLocalStorage, type LocalStorage } from './storage/local.js';
import { createS3Storage } from './storage/s3.js';
import type { Storage } from './storage/storage.js';

/** Every backend the config names, opened, each with its own `close()`. */
export interface Backends {
  storage: Storage;
  /** The same object as `storage` when objects live on local disk (its signed URLs are served by this app). */
  local?: LocalStorage;
  db: DbHandle;
  queue: WorkerQueue;
  events: EventBus;
}

/**
 * Opens the backends in the order that reports a missing one soonest: the
 * external services are probed before the database opens (an embedded PGlite
 * takes seconds). Each opened backend's closer is handed to `onOpen` at once,
 * so a failure half-way still closes what was opened. Throws an Error with one
 * line naming what to set or start.
 */
export async function openBackends(
  config: Config,
  opts: { secret: string | undefined; logger: RedisLogger; onOpen: (close: () => Promise<void>) => void },
): Promise<Backends> {
  if (config.redis) await assertRedisReachable(config.redis.url);
  let storage: Storage;
  let local: LocalStorage | undefined;
  if (config.s3) {
    const s3 = createS3Storage(config.s3);
    storage = s3;
    opts.onOpen(() => s3.close());
    try {
      await s3.ping();
    } catch (err) {
      throw new Error(`${(err as Error).message.split('\n')[0]}`);
    }
  } else {
    local = createLocalStorage({
      dir: `${config.dataDir}/storage`,
      publicUrl: config.publicUrl,
      signingKey: deriveKey(opts.secret ?? loadOrCreateSecret(config.dataDir), 'local-storage-urls'),
    });
    storage = local;
    opts.onOpen(() => storage.close());
  }

  const db = await createDb({ url: config.databaseUrl, dataDir: `${config.dataDir}/pglite` });
  opts.onOpen(() => db.close());

  const redis = config.redis && { url: config.redis.url, keyPrefix: config.redis.keyPrefix, logger: opts.logger };
  const queue = redis ? createRedisQueue(redis) : createMemoryQueue();
  opts.onOpen(() => queue.close());
  const events = redis ? createRedisEventBus(redis) : createMemoryEventBus();
  opts.onOpen(() => events.close());

  return { storage, local, db, queue, events };
}
