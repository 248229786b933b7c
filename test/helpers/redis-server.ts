import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { assertRedisReachable } from '../../src/pubsub/redisConnection.js';
import { freePort } from './app.js';

/** Retries `attempt` every 100 ms until it resolves or `ms` have passed. */
export async function eventually<T>(what: string, attempt: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${ms} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** Starts redis-server (again) on the same port, with empty data; resolves once it answers. */
  start(): Promise<void>;
  /** SIGKILLs it (no clean shutdown, like a crash). Safe to call when stopped. */
  kill(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) it: connections stay open but nothing is answered meanwhile. */
  freeze(frozen: boolean): void;
}

/**
 * A redis-server of the test's own on a spare 127.0.0.1 port (never the
 * machine's shared Redis), without persistence, so it can be killed and
 * restarted at will. Call `kill()` in afterAll.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const redis: PrivateRedis = {
    port,
    url,
    async start() {
      const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      child = proc;
      proc.on('error', () => {}); // surfaced by the reachability wait below
      await eventually('redis-server start', () => assertRedisReachable(url, 500), 10_000);
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    },
    freeze(frozen) {
      child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
  };
  await redis.start();
  return redis;
}
