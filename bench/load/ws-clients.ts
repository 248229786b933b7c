/**
 * Subscriber process: holds many graphql-ws (graphql-transport-ws protocol)
 * connections to the product, each authenticated as its own user, with one or
 * more subscriptions (`myJobUpdates`, `jobUpdated(id)`), and records when
 * each event arrives. Speaks the protocol directly over `ws`, which keeps the
 * client side light enough to hold thousands of sockets per process.
 *
 * Commands: open, addMy, stats, collect, close.
 */
import WebSocket from 'ws';
import { serveCommands } from '../lib/proc.js';
import { now, signToken } from '../lib/util.js';

const MY_JOBS = 'subscription Mine { myJobUpdates { id status progress } }';
const ONE_JOB = 'subscription One($id: ID!) { jobUpdated(id: $id) { id status progress } }';

export interface ConnSpec {
  user: string;
  /** One entry per subscription on this connection: a job id for jobUpdated, null for myJobUpdates. */
  subs: Array<string | null>;
}

interface Sub {
  job: string | null;
  /** jobUpdated sends the job's current state first: that event marks the subscription live. */
  awaitingFirst: boolean;
}

interface Conn {
  ws: WebSocket;
  subs: Sub[];
}

const conns: Conn[] = [];
/** [job id, progress, receipt time, 0 = myJobUpdates | 1 = jobUpdated] */
let records: Array<[string, number, number, number]> = [];
let errorsReceived = 0;
let unexpectedCloses = 0;
let closing = false;
const errorSamples: string[] = [];

function sample(why: string): void {
  if (errorSamples.length < 5) errorSamples.push(why.slice(0, 300));
}

function openOne(wsUrl: string, token: string, spec: ConnSpec, timeoutMs: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
    const conn: Conn = { ws, subs: spec.subs.map((job) => ({ job, awaitingFirst: job !== null })) };
    let pendingFirst = conn.subs.filter((s) => s.awaitingFirst).length;
    let settled = false;
    const timer = setTimeout(() => done(new Error(`not subscribed within ${timeoutMs} ms`)), timeoutMs);
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        ws.terminate();
        reject(err);
      } else resolve(conn);
    };
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const t = now();
      const msg = JSON.parse(data.toString()) as { type: string; id?: string; payload?: any };
      switch (msg.type) {
        case 'connection_ack':
          conn.subs.forEach((s, i) => {
            const payload = s.job === null ? { query: MY_JOBS } : { query: ONE_JOB, variables: { id: s.job } };
            ws.send(JSON.stringify({ id: String(i), type: 'subscribe', payload }));
          });
          if (pendingFirst === 0) done();
          break;
        case 'next': {
          const sub = conn.subs[Number(msg.id)];
          const job = msg.payload?.data?.myJobUpdates ?? msg.payload?.data?.jobUpdated;
          if (!sub || !job) {
            errorsReceived++;
            sample(`next without a job: ${JSON.stringify(msg.payload)}`);
            break;
          }
          if (sub.awaitingFirst) {
            sub.awaitingFirst = false;
            if (--pendingFirst === 0) done();
            break;
          }
          records.push([job.id as string, job.progress as number, t, sub.job === null ? 0 : 1]);
          break;
        }
        case 'error':
          errorsReceived++;
          sample(`error: ${JSON.stringify(msg.payload)}`);
          done(new Error(`subscription refused: ${JSON.stringify(msg.payload)}`));
          break;
        case 'ping':
          ws.send(JSON.stringify({ type: 'pong' }));
          break;
        default:
          break;
      }
    });
    ws.on('error', (err) => {
      sample(`socket error: ${String(err)}`);
      done(err);
    });
    ws.on('close', (code, reason) => {
      if (!closing && settled) {
        unexpectedCloses++;
        sample(`closed ${code} ${reason.toString()}`);
      }
      done(new Error(`closed ${code} ${reason.toString()}`));
    });
  });
}

interface OpenCommand {
  wsUrl: string;
  secret: string;
  conns: ConnSpec[];
  /** Connections being set up at once. */
  inflight?: number;
  timeoutMs?: number;
}

async function open(cmd: OpenCommand) {
  closing = false;
  const t0 = performance.now();
  let next = 0;
  let opened = 0;
  let failed = 0;
  const failures: string[] = [];
  // Tokens first: signing is not what we measure.
  const tokens = new Map<string, string>();
  for (const c of cmd.conns) if (!tokens.has(c.user)) tokens.set(c.user, await signToken(cmd.secret, c.user));
  await Promise.all(
    Array.from({ length: Math.min(cmd.inflight ?? 64, cmd.conns.length) }, async () => {
      while (next < cmd.conns.length) {
        const spec = cmd.conns[next++]!;
        try {
          conns.push(await openOne(cmd.wsUrl, tokens.get(spec.user)!, spec, cmd.timeoutMs ?? 30_000));
          opened++;
        } catch (err) {
          failed++;
          if (failures.length < 5) failures.push(String(err));
        }
      }
    }),
  );
  return { opened, failed, failures, ms: performance.now() - t0, totalConns: conns.length };
}

/**
 * Adds `count` more myJobUpdates subscriptions on connections already open
 * (one per connection, in order), for holding more subscriptions than the
 * process may open sockets.
 */
async function addMy(msg: { count: number }) {
  let added = 0;
  for (const c of conns) {
    if (added >= msg.count) break;
    if (c.ws.readyState !== WebSocket.OPEN) continue;
    const id = c.subs.length;
    c.subs.push({ job: null, awaitingFirst: false });
    c.ws.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: MY_JOBS } }));
    added++;
  }
  return { added };
}

async function stats() {
  return { conns: conns.length, records: records.length, errorsReceived, unexpectedCloses, errorSamples };
}

async function collect(msg: { reset?: boolean }) {
  const out = records;
  if (msg.reset !== false) records = [];
  return out;
}

async function close() {
  closing = true;
  const n = conns.length;
  await Promise.all(
    conns.splice(0).map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          c.ws.once('close', () => resolve());
          c.ws.close(1000);
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 3000).unref();
        }),
    ),
  );
  return { closed: n };
}

serveCommands({ open, addMy, stats, collect, close });
