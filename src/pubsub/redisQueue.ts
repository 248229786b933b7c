import { randomUUID } from 'node:crypto';
import type { WorkerQueue } from './queue.js';
import { closeConnection, command, connect, type RedisConnectionOptions } from './redisConnection.js';

/** WorkerQueue.replace as one atomic script: a popper sees the list before or after, never between. */
const REPLACE_SCRIPT = `
local n = tonumber(ARGV[1])
local counts, gone = {}, {}
for i = 1, n do
  local c = redis.call('LREM', KEYS[1], 0, ARGV[1 + i])
  counts[i] = c
  if c == 0 then gone[ARGV[1 + i]] = true end
end
for i = n + 2, #ARGV do
  if not gone[ARGV[i]] then redis.call('LPUSH', KEYS[1], ARGV[i]) end
end
return counts`;

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
    pushBack: (queue, payload) => run(`RPUSH ${prefix}${queue}`, () => conn.client.rpush(prefix + queue, payload)),
    replace: (queue, remove, push) =>
      run(`EVAL replace ${prefix}${queue}`, async () => {
        const counts = (await conn.client.eval(REPLACE_SCRIPT, 1, prefix + queue, String(remove.length), ...remove, ...push)) as number[];
        return counts.map(Number);
      }),
    // LRANGE and the epoch in one MULTI, so a restart cannot fall between them.
    snapshot: (queue) =>
      run(`LRANGE ${prefix}${queue}`, async () => {
        const fresh = randomUUID();
        const replies = await conn.client
          .multi()
          .lrange(prefix + queue, 0, -1)
          .call('SET', `${prefix}genjob:queue-epoch`, fresh, 'NX', 'GET')
          .exec();
        if (!replies) throw new Error('MULTI aborted');
        for (const [err] of replies) if (err) throw err;
        return { items: replies[0]![1] as string[], epoch: (replies[1]![1] as string | null) ?? fresh };
      }),
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
    // A sorted set per queue (member: worker, score: last poll), trimmed as it is written.
    sighted: (queue, worker, at, keepMs) =>
      run(`ZADD ${prefix}genjob:workers:${queue}`, async () => {
        const key = `${prefix}genjob:workers:${queue}`;
        const replies = await conn.client.multi().zadd(key, at, worker).zremrangebyscore(key, '-inf', at - keepMs).pexpire(key, keepMs).exec();
        for (const [err] of replies ?? []) if (err) throw err;
      }),
    workersSince: (queue, since) => run(`ZCOUNT ${prefix}genjob:workers:${queue}`, () => conn.client.zcount(`${prefix}genjob:workers:${queue}`, since, '+inf')),
    ping: async () => {
      await run('PING', () => conn.client.ping());
    },
    close: () => closeConnection(conn),
  };
}

