/**
 * Worker process for pickup latency: takes payloads as the fleet would and
 * records when each job id arrived.
 *
 *   mode `rpop`:  polls `GET /rpop/<queue>` with a worker token; after a hit it
 *                 polls again at once, after a miss it waits `pollMs`
 *                 (the real fleet waits ~2 s).
 *   mode `brpop`: a direct Redis consumer blocking on `BRPOP <prefix><queue>`
 *                 (production mode: workers reading Redis themselves).
 */
import http from 'node:http';
import { Redis } from 'ioredis';
import { request } from '../lib/http.js';
import { serveCommands } from '../lib/proc.js';
import { now, sleep } from '../lib/util.js';

interface StartCommand {
  mode: 'rpop' | 'brpop';
  queue: string;
  url?: string;
  token?: string;
  pollMs?: number;
  redisUrl?: string;
  redisKey?: string;
}

let stopping = false;
let loop: Promise<void> | null = null;
let got: Array<[string, number]> = [];
let polls = 0;
let errors = 0;

function idOf(payload: string): string {
  return (JSON.parse(payload) as { id: string }).id;
}

async function start(cmd: StartCommand) {
  stopping = false;
  got = [];
  polls = 0;
  errors = 0;
  if (cmd.mode === 'rpop') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL(`/rpop/${cmd.queue}`, cmd.url);
    const headers = { authorization: `Bearer ${cmd.token}` };
    loop = (async () => {
      while (!stopping) {
        polls++;
        try {
          const answer = await request(agent, url, 'GET', headers, undefined, 10_000);
          const t = now();
          const result = (JSON.parse(answer.text) as { result: string | null }).result;
          if (result !== null) {
            got.push([idOf(result), t]);
            continue;
          }
        } catch {
          errors++;
        }
        await sleep(cmd.pollMs ?? 2000);
      }
      agent.destroy();
    })();
  } else {
    const redis = new Redis(cmd.redisUrl!);
    await redis.ping();
    loop = (async () => {
      while (!stopping) {
        polls++;
        try {
          const answer = await redis.brpop(cmd.redisKey!, 0.5);
          const t = now();
          if (answer) got.push([idOf(answer[1]), t]);
        } catch {
          errors++;
        }
      }
      redis.disconnect();
    })();
  }
  return { started: true };
}

async function stop() {
  stopping = true;
  await loop;
  return { got, polls, errors };
}

serveCommands({ start, stop });
