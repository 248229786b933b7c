import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Finds references from a repository's files to anything outside it: a clone
 * on another machine has nothing beside it, so such a reference is a test that
 * fails, a link that 404s or a start-up that crashes there.
 *
 * The machine-specific names are assembled from pieces so that this file
 * does not report itself.
 */
const SIBLING_CHECKOUT = ['..', 'shared'].join('/');
const MACHINE_ROOTS = ['work', 'home', 'Users', 'root'].map((d) => `/${d}/`);

export interface OutsideRef {
  file: string;
  line: number;
  text: string;
  why: string;
}

/** Tracked files (git), or every file but dependencies and build output when this is no git checkout. */
export function trackedFiles(root: string): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\0')
      .filter(Boolean);
  } catch {
    throw new Error(`cannot list the tracked files of ${root}: run the tests in a git checkout with git installed`);
  }
}

function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/** Scans one file's text; `file` is relative to `root`. */
export function scanText(root: string, file: string, text: string, exists: (abs: string) => boolean = existsSync): OutsideRef[] {
  const found: OutsideRef[] = [];
  const dir = dirname(join(root, file));
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const report = (why: string) => found.push({ file, line: i + 1, text: line.trim().slice(0, 160), why });
    if (line.includes(SIBLING_CHECKOUT)) report('names a sibling checkout');
    for (const m of MACHINE_ROOTS) if (line.includes(m) && !/https?:\/\/\S*$/.test(line.slice(0, line.indexOf(m)))) report(`absolute path under ${m}`);
    // Relative paths that climb out of the repository, counted from the file's own directory.
    for (const m of line.matchAll(/(?<![\w./-])((?:\.\.\/)+)([\w.-]*)/g)) {
      if (!inside(root, resolve(dir, m[1] + m[2]))) report(`"${m[0]}" leaves the repository`);
    }
    // Paths built from the working directory's parent: a join or resolve of process.cwd() (or nothing) and a parent segment.
    if (/\b(?:join|resolve)\(\s*(?:process\.cwd\(\)\s*,\s*)?['"`]\.\.['"`]/.test(line)) report('joins a path above the working directory');
    // Markdown links to files must stay inside and exist.
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(/\]\(([^)\s#]+)(?:#[^)\s]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const abs = target.startsWith('/') ? join(root, target) : resolve(dir, target);
        if (!inside(root, abs)) report(`link "${target}" leaves the repository`);
        else if (!exists(abs)) report(`link "${target}" points to no file`);
      }
    }
  });
  return found;
}

/** Every outside reference in the tracked files of `root`, and in package.json dependencies. */
export function scanRepository(root: string): OutsideRef[] {
  const found: OutsideRef[] = [];
  for (const file of trackedFiles(root)) {
    const abs = join(root, file);
    if (!existsSync(abs)) continue; // deleted in the working tree, not yet committed
    const buf = readFileSync(abs);
    if (isBinary(buf)) continue;
    found.push(...scanText(root, file, buf.toString('utf8')));
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    for (const [name, spec] of Object.entries(pkg[field] ?? {})) {
      if (/^(file|link|portal):/.test(spec) && !inside(root, resolve(root, spec.replace(/^\w+:/, '')))) {
        found.push({ file: 'package.json', line: 0, text: `${name}: ${spec}`, why: 'depends on a directory outside the repository' });
      }
    }
  }
  return found;
}
