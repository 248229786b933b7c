import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';

describe('generated files are current', () => {
  it('schema.graphql is what Pothos builds (run `npm run codegen` after changing src/schema)', () => {
    const committed = buildSchema(readFileSync('schema.graphql', 'utf8'));
    expect(printSchema(lexicographicSortSchema(committed))).toBe(printSchema(lexicographicSortSchema(schema)));
  });

  it('drizzle/ holds a migration for every change to src/db/schema.ts (run `npm run db:generate`)', () => {
    const out = mkdtempSync(join(tmpdir(), 'drizzle-check-'));
    try {
      cpSync('drizzle', out, { recursive: true });
      const before = readdirSync(out, { recursive: true }).length;
      execFileSync(
        process.execPath,
        ['node_modules/drizzle-kit/bin.cjs', 'generate', '--dialect', 'postgresql', '--schema', 'src/db/schema.ts', '--out', out],
        { stdio: 'pipe' },
      );
      expect(readdirSync(out, { recursive: true }).length).toBe(before);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
