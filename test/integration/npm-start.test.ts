import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/app.js';

/**
 * `npm start` as a user runs it on a fresh clone: the tracked files only (no
 * dist/), dependencies installed. It builds dist/ first, runs the compiled
 * server (not tsx), and a SIGTERM sent to npm's own process stops the server.
 */
const ROOT = process.cwd();
let clone: string;
let dataDir: string;

function tracked(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
}

/** Every process below `pid`, with its command line. */
function descendants(pid: number): Array<{ pid: number; args: string }> {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] }));
  const out: Array<{ pid: number; args: string }> = [];
  const walk = (p: number) => {
    for (const r of rows.filter((r) => r.ppid === p)) {
      out.push({ pid: r.pid, args: r.args });
      walk(r.pid);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'genjob-clone-'));
  for (const file of tracked()) {
    if (!existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    cpSync(join(ROOT, file), join(clone, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  dataDir = mkdtempSync(join(tmpdir(), 'genjob-start-data-'));
});

afterAll(() => {
  rmSync(clone, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start on a fresh clone', () => {
  it('builds dist/, runs the compiled server, and stops it when npm alone gets SIGTERM', async () => {
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    const port = await freePort();
    let out = '';
    const npm: ChildProcess = spawn('npm', ['start'], {
      cwd: clone,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    // Remembered while npm lives: once it exits, its children are re-parented and no longer found below it.
    let tree: Array<{ pid: number; args: string }> = [];
    try {
      const deadline = Date.now() + 150_000;
      for (;;) {
        const ready = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status, () => 0);
        if (ready === 200) break;
        if (npm.exitCode !== null || Date.now() > deadline) throw new Error(`npm start never became ready:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(existsSync(join(clone, 'dist', 'server.js'))).toBe(true);
      expect(out).toContain('dev user token');
      tree = descendants(npm.pid!);
      expect(tree.some((p) => p.args.includes('scripts/start.mjs'))).toBe(true);
      expect(tree.filter((p) => /\btsx\b/.test(p.args))).toEqual([]);

      npm.kill('SIGTERM'); // npm only, not its process group
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))]);
      expect(code).not.toBe('still running');
      for (const p of tree) expect(alive(p.pid), p.args).toBe(false);
      expect(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 'closed')).toBe('closed');
    } finally {
      for (const p of [...tree, ...descendants(npm.pid!)]) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
      if (npm.exitCode === null) npm.kill('SIGKILL');
    }
  }, 200_000);

  it('counts dist/ stale when a source is newer than the build, and fresh once rebuilt', async () => {
    const build = (await import(pathToFileURL(join(clone, 'scripts', 'build.mjs')).href)) as {
      isStale(): boolean;
      ensureBuilt(o?: { quiet?: boolean }): Promise<boolean>;
    };
    expect(build.isStale()).toBe(false);
    // A source edited after the build: its mtime is past the build stamp's.
    const stamp = join(clone, 'dist', '.build-complete');
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(stamp, earlier, earlier);
    expect(build.isStale()).toBe(true);
    expect(await build.ensureBuilt({ quiet: true })).toBe(true);
    expect(build.isStale()).toBe(false);
    expect(readFileSync(join(clone, 'dist', 'config.js'), 'utf8')).toContain('loadConfig');
  }, 120_000);
});
