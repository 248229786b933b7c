/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof DIR`):
 * self time by function and by package, and inclusive time of chosen frames.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 30] [--from ms] [--to ms]
 *
 * --from/--to restrict to a window (ms since the profile started), e.g. to
 * skip start-up.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [--top N] [--from ms] [--to ms]\n');
  process.exit(2);
}
const flag = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const top = flag('top', 30);
const from = flag('from', 0) * 1000;
const to = flag('to', Infinity) * 1000;

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function pkg(url: string): string {
  if (!url) return '(native/V8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node core';
  const src = /\/(src|bench|sim)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]!.split('/')[0]}`;
  return url;
}
const label = (n: Node) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;

const self = new Map<number, number>();
const inclusivePkg = new Map<string, number>();
let t = 0;
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i]!;
  if (t < from || t > to) continue;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
  // Inclusive by package: each package counted once per sample.
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const p = pkg(byId.get(n)!.callFrame.url);
    if (!seen.has(p)) {
      seen.add(p);
      inclusivePkg.set(p, (inclusivePkg.get(p) ?? 0) + dt);
    }
  }
}

/**
 * Where busy time goes by kind of work, judged from the whole stack of each
 * sample; the first rule that matches wins (so a socket write under a
 * postgres.js call counts as database).
 */
const CATEGORIES: Array<[string, RegExp]> = [
  ['content policy (src/resolvers/contentPolicy)', /src\/resolvers\/contentPolicy/],
  ['database: drizzle-orm + postgres.js / PGlite (incl. socket writes)', /node_modules\/(drizzle-orm|postgres|@electric-sql\/pglite)\/|wasm:\/\//],
  ['redis: ioredis (LPUSH, PUBLISH, pubsub)', /node_modules\/(ioredis|redis-parser|graphql-redis-subscriptions)\//],
  ['JWT verification (jose)', /node_modules\/jose\//],
  ['GraphQL + fetch-API layers (yoga, envelop, executor, graphql-js, whatwg-node, pothos, graphql-ws)', /node_modules\/(graphql-yoga|@envelop|@graphql-tools|graphql|@whatwg-node|@pothos|graphql-ws|lru-cache|@repeaterjs)\//],
  ['domain code (src/resolvers, src/schema, src/pubsub, src/app)', /\/src\/(resolvers|schema|pubsub|app|http|auth|storage)/],
  ['bench baseline handler', /\/bench\/baseline/],
  ['node http/net/streams (no library frame on the stack)', /^node:/],
];
const byCategory = new Map<string, number>();
{
  let tt = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    tt += profile.timeDeltas[i]!;
    if (tt < from || tt > to) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(profile.samples[i]!)!;
    const name = leaf.callFrame.functionName;
    let cat: string | undefined;
    if (name === '(idle)') continue;
    if (name === '(garbage collector)' || name === '(program)') cat = name;
    else {
      const urls: string[] = [];
      for (let n: number | undefined = leaf.id; n !== undefined; n = parent.get(n)) urls.push(byId.get(n)!.callFrame.url);
      cat = CATEGORIES.find(([, re]) => urls.some((u) => re.test(u)))?.[0] ?? 'other (native, no JS frame)';
    }
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + dt);
  }
}

const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id)!;
  const name = n.callFrame.functionName;
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
    byPkg.set(name, (byPkg.get(name) ?? 0) + us);
  } else byPkg.set(pkg(n.callFrame.url), (byPkg.get(pkg(n.callFrame.url)) ?? 0) + us);
  byFn.set(label(n), (byFn.get(label(n)) ?? 0) + us);
}
const idle = byPkg.get('(idle)') ?? 0;
const busy = total - idle;
const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1)}%`.padStart(6);
const ms = (us: number) => `${(us / 1000).toFixed(0)} ms`.padStart(9);

process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${pct(busy, total)})\n\n`);
process.stdout.write('busy time by kind of work (whole stack; first matching rule):\n');
for (const [c, us] of [...byCategory].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${pct(us, busy)} ${ms(us)}  ${c}\n`);
process.stdout.write('\nself time by package (% of busy):\n');
for (const [p, us] of [...byPkg].filter(([p]) => p !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  process.stdout.write(`  ${pct(us, busy)} ${ms(us)}  ${p}\n`);
}
process.stdout.write('\ninclusive time by package (% of busy; a sample counts for every package on its stack):\n');
for (const [p, us] of [...inclusivePkg].filter(([p]) => p !== '(native/V8)').sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  process.stdout.write(`  ${pct(us, busy)} ${ms(us)}  ${p}\n`);
}
process.stdout.write(`\ntop ${top} functions by self time (% of busy):\n`);
for (const [f, us] of [...byFn].filter(([f]) => !f.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`  ${pct(us, busy)} ${ms(us)}  ${f}\n`);
}
