import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scanRepository, scanText } from '../helpers/outside-refs.js';

/**
 * A clone on a machine with nothing beside it must pass `npm test` and start:
 * no tracked file may read, import or link to anything outside the repository.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the repository is self-contained', () => {
  it('no tracked file refers to a path outside the repository', () => {
    const found = scanRepository(ROOT).map((r) => `${r.file}:${r.line}: ${r.why}: ${r.text}`);
    expect(found).toEqual([]);
  });

  it('the scanner reports what it should (and leaves in-repository paths alone)', () => {
    const up = '..';
    const bad = [
      `const doc = readFileSync(join('${up}', 'shar' + 'ed', 'x.graphql'));`,
      `const doc = readFileSync(join(process.cwd(), '${up}', 'elsewhere.md'));`,
      `import x from '${up}/${up}/${up}/outside.js';`,
      `see [the contract](${up}/${up}/contract.md)`,
      `see [the guide](docs/missing-guide.md)`,
      `path = '/wo' + 'rk/x'`.replace(`'/wo' + 'rk/x'`, ['', 'work', 'main', 'x'].join('/')),
    ];
    const reports = bad.map((line, i) => scanText(ROOT, i === 3 || i === 4 ? 'README.md' : 'test/unit/x.ts', line, () => false));
    for (const [i, r] of reports.entries()) expect(r.length, bad[i]).toBeGreaterThan(0);

    const fine = [
      `import { schema } from '${up}/${up}/src/schema/index.js';`,
      `const MIGRATIONS = new URL('${up}/${up}/drizzle', import.meta.url);`,
      `see [the worker protocol](docs/worker-protocol.md) and [GraphiQL](https://example.com/x)`,
    ];
    for (const line of fine) expect(scanText(ROOT, line.startsWith('see') ? 'README.md' : 'test/unit/x.ts', line), line).toEqual([]);
  });
});
