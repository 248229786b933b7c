import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from './app.js';
import { eventually } from './redis-server.js';

export interface PrivatePostgres {
  port: number;
  /** URL of the `postgres` database (trust auth, user postgres). */
  url: string;
  start(): Promise<void>;
  /** SIGKILL (a crash): connections drop without a goodbye. */
  kill(): Promise<void>;
  /** Stops and removes the data directory. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of the test's own (never the machine's shared one),
 * in a fresh data directory on a spare port, that the test may crash and
 * restart at will. `initdb` refuses to run as root, so when the tests run as
 * root the server runs as the `postgres` system user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'genjob-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const) : ([cmd, args] as const);
  const [initCmd, initArgs] = run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  execFileSync(initCmd, [...initArgs], { stdio: 'ignore' });
  let child: ChildProcess | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const server: PrivatePostgres = {
    port,
    url,
    async start() {
      const [cmd, args] = run('postgres', [
        '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
        '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50',
      ]);
      const spawnOnce = () => {
        const proc = spawn(cmd, [...args], { stdio: 'ignore' });
        proc.on('error', () => {});
        child = proc;
      };
      spawnOnce();
      await eventually(
        'private postgres start',
        async () => {
          // A killed postmaster's backends may still hold its shared memory: then this start fails; try again.
          if (child && (child.exitCode !== null || child.signalCode !== null)) spawnOnce();
          const sql = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => {} });
          try {
            await sql`select 1`;
          } finally {
            await sql.end({ timeout: 1 });
          }
        },
        30_000,
      );
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      // The postmaster's own pid (the spawned process may be runuser): a SIGKILL like a crash.
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const exited = once(proc, 'exit');
      process.kill(pid, 'SIGKILL');
      await exited;
      // Its backends notice the postmaster is gone and exit by themselves; start() retries until they have.
    },
    async destroy() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
