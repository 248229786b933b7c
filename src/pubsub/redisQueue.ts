import { randomUUID } from 'node:crypto';
import type { WorkerQueue } from './queue.js';
import { closeConnection, command, connect, type RedisConnectionOptions } from './redisConnection.js';

/**
 * A WorkerQueue on real Redis lists named `${keyPrefix}${queue}` (LPUSH in,
 * RPOP out), so GPU workers can pop from Redis directly. Every method rejects
 * with RedisUnavailableError within about two seconds while Redis is down,
 * and works again by itself once Redis is back.
 */
export function createRedisQueue(opts: RedisConnectionOptions): WorkerQueue {
  const prefix = opts.keyPrefix ?? '';
  const conn = connect(opts, 'queue');
  const run = <T>(what: string, fn: () => Promise<T>) => command(conn, opts.url, what, fn);
  return {
    kind: 'redis',
    push: (queue, payload) => run(`LPUSH ${prefix}${queue}`, () => conn.client.lpush(prefix + queue, payload)),
    pop: (queue) => run(`RPOP ${prefix}${queue}`, () => conn.client.rpop(prefix + queue)),
    length: (queue) => run(`LLEN ${prefix}${queue}`, () => conn.client.llen(prefix + queue)),
    remove: (queue, payload) => run(`LREM ${prefix}${queue}`, () => conn.client.lrem(prefix + queue, 0, payload)),
    // SET NX GET in one step: every instance agrees on the first id written
    // since Redis last started empty.
    epoch: () =>
      run('SET epoch', async () => {
        const fresh = randomUUID();
        const previous = (await conn.client.call('SET', `${prefix}genjob:queue-epoch`, fresh, 'NX', 'GET')) as string | null;
        return previous ?? fresh;
      }),
    ping: async () => {
      await run('PING', () => conn.client.ping());
    },
    close: () => closeConnection(conn),
  };
}

