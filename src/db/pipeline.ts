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
 * any error rolls everything back and is thrown. On PostgreSQL, BEGIN, the
 * statements and COMMIT go out pipelined on one connection: one round trip
 * (a statement that fails aborts the transaction, and the COMMIT after it
 * then rolls back). On PGlite they run in its transaction.
 */
export async function runPipelined(db: Db, statements: FixedStatement[]): Promise<Row[][]> {
  const client = (db as unknown as { $client: Sql | PGlite }).$client;
  if ('reserve' in client) return runOnPostgres(client, statements);
  return client.transaction(async (tx) => {
    const out: Row[][] = [];
    for (const s of statements) out.push((await tx.query<Row>(s.text, s.params, PGLITE_ROWS)).rows);
    return out;
  });
}

async function runOnPostgres(sql: Sql, statements: FixedStatement[]): Promise<Row[][]> {
  const conn = await sql.reserve();
  try {
    // postgres.js sends queries made in one tick in one write and answers them in order.
    const settled = await Promise.allSettled([
      conn.unsafe('begin'),
      ...statements.map((s) => conn.unsafe(s.text, s.params, { prepare: true })),
      conn.unsafe('commit'),
    ]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.slice(1, -1).map((r) => [...(r as PromiseFulfilledResult<Row[]>).value]);
  } finally {
    conn.release();
  }
}
