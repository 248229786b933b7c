/*
 * Fixed-text statements run in one transaction, bypassing Drizzle's query
 * building, for the hot path whose SQL never changes (queueJob's group
 * commit).
 */
import type { PGlite } from '@electric-sql/pglite';
import { types } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import type { Db } from './client.js';

export interface FixedStatement {
  /** Constant text: PostgreSQL parses and plans it once per connection (a named prepared statement). */
  text: string;
  params: (string | number)[];
}

type Row = Record<string, unknown>;

// The row values Drizzle's own PGlite session asks for (timestamps as text), so rowFrom() maps them alike.
const PGLITE_ROWS = {
  rowMode: 'object' as const,
  parsers: {
    [types.TIMESTAMP]: (v: string) => v,
    [types.TIMESTAMPTZ]: (v: string) => v,
    [types.INTERVAL]: (v: string) => v,
    [types.DATE]: (v: string) => v,
  },
};

/**
 * Runs `statements` in order in one transaction and returns each one's rows;
 * any error rolls everything back and is thrown. On PostgreSQL the
 * statements go out pipelined after BEGIN (postgres.js sends the queries of
 * one tick in one write), so a transaction costs three round trips whatever
 * it holds; `begin` (not a reserved connection) because it fails the
 * transaction when its connection closes instead of leaving it waiting. On
 * PGlite they run in its transaction.
 */
export async function runPipelined(db: Db, statements: FixedStatement[]): Promise<Row[][]> {
  const client = (db as unknown as { $client: Sql | PGlite }).$client;
  if ('begin' in client) {
    const results = await client.begin((tx) => statements.map((s) => tx.unsafe(s.text, s.params, { prepare: true })));
    return results.map((rows) => [...(rows as unknown as Row[])]);
  }
  return client.transaction(async (tx) => {
    const out: Row[][] = [];
    for (const s of statements) out.push((await tx.query<Row>(s.text, s.params, PGLITE_ROWS)).rows);
    return out;
  });
}
