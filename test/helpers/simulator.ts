import { spawn, type ChildProcess } from 'node:child_process';

export interface Simulator {
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the simulator worker (sim/worker.ts) as its own process, configured
 * exactly as the GPU fleet is (HTTP only, a worker token), and waits until
 * both queue loops poll.
 */
export async function startSimulator(url: string, workerToken: string, env: Record<string, string> = {}): Promise<Simulator> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'sim/worker.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      SUPABASE_URL: url,
      SUPABASE_SERVICE_KEY: workerToken,
      UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: workerToken,
      SIM_POLL_MS: '100',
      SIM_FAIL_RATE: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const deadline = Date.now() + 30_000;
  while ((out.match(/worker started/g) ?? []).length < 2) {
    if (child.exitCode !== null) throw new Error(`the simulator exited (${child.exitCode}): ${out}`);
    if (Date.now() > deadline) throw new Error(`the simulator did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
