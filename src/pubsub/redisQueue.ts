import { randomUUID } from 'node:crypto';
import type { WorkerQueue } from './queue.js';
import { closeConnection, command, connect, type RedisConnectionOptions } from './redisConnection.js';

/**
 * Removal marks. A list entry of ours that *we* removed (an /rpop claiming
 * it, a window rewrite dropping it) leaves a mark, `<prefix>genjob:unlisted:<payload id>`,
 * set in the same atomic step as the removal; pushing the entry again clears
 * it. So "the entry is gone" is never ambiguous: with a mark, we removed it
 * (and nobody is running it: a claim whose transaction failed, or whose
 * answer timed out but ran anyway); without one, a worker popped it.
 * Marks expire after a day, long after anything could ask.
 */
const MARK_LIB = `
local function mark_key(item)
  local ok, obj = pcall(cjson.decode, item)
  if ok and type(obj) == 'table' and type(obj.id) == 'string' then return ARGV[1] .. obj.id end
  return nil
end
local function set_mark(item)
  local k = mark_key(item)
  if k then redis.call('SET', k, '1', 'EX', 86400) end
end
local function clear_mark(item)
  local k = mark_key(item)
  if k then redis.call('DEL', k) end
end
local function marked(item)
  local k = mark_key(item)
  return k ~= nil and redis.call('EXISTS', k) == 1
end
`;

/** remove: LREM, leaving a mark when something was removed; -1 when nothing was there but our mark is. */
const REMOVE_SCRIPT = `${MARK_LIB}
local c = redis.call('LREM', KEYS[1], 0, ARGV[2])
if c > 0 then set_mark(ARGV[2]) elseif marked(ARGV[2]) then c = -1 end
return c`;

/** pushBack: RPUSH, clearing the entry's mark. */
const PUSH_BACK_SCRIPT = `${MARK_LIB}
clear_mark(ARGV[2])
return redis.call('RPUSH', KEYS[1], ARGV[2])`;

/** WorkerQueue.replace as one atomic script: a popper sees the list before or after, never between. */
const REPLACE_SCRIPT = `${MARK_LIB}
local n = tonumber(ARGV[2])
local counts, gone, pushing = {}, {}, {}
for i = n + 3, #ARGV do pushing[ARGV[i]] = true end
for i = 1, n do
  local item = ARGV[2 + i]
  local c = redis.call('LREM', KEYS[1], 0, item)
  if c == 0 then
    if marked(item) then c = -1 else gone[item] = true end
  elseif not pushing[item] then
    set_mark(item)
  end
  counts[i] = c
end
for i = n + 3, #ARGV do
  if not gone[ARGV[i]] then
    clear_mark(ARGV[i])
    redis.call('LPUSH', KEYS[1], ARGV[i])
  end
end
return counts`;

/** removedByUs: for each entry, whether it carries our removal mark. */
const MARKED_SCRIPT = `${MARK_LIB}
local out = {}
for i = 2, #ARGV do out[i - 1] = marked(ARGV[i]) and 1 or 0 end
return out`;

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
  const marks = `${prefix}genjob:unlisted:`;
  return {
    kind: 'redis',
    push: (queue, payload) => run(`LPUSH ${prefix}${queue}`, () => conn.client.lpush(prefix + queue, payload)),
    pushBack: (queue, payload) =>
      run(`RPUSH ${prefix}${queue}`, async () => Number(await conn.client.eval(PUSH_BACK_SCRIPT, 1, prefix + queue, marks, payload))),
    replace: (queue, remove, push) =>
      run(`EVAL replace ${prefix}${queue}`, async () => {
        const counts = (await conn.client.eval(REPLACE_SCRIPT, 1, prefix + queue, marks, String(remove.length), ...remove, ...push)) as number[];
        return counts.map(Number);
      }),
    removedByUs: (queue, payloads) =>
      payloads.length === 0
        ? Promise.resolve([])
        : run(`EVAL marked ${prefix}${queue}`, async () => {
            const flags = (await conn.client.eval(MARKED_SCRIPT, 0, marks, ...payloads)) as number[];
            return flags.map((f) => Number(f) === 1);
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
    remove: (queue, payload) =>
      run(`LREM ${prefix}${queue}`, async () => Number(await conn.client.eval(REMOVE_SCRIPT, 1, prefix + queue, marks, payload))),
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

