/*
 * Helpers for the few statements written by hand (data-modifying CTEs) that
 * keep them tied to the Drizzle schema: column names, SQL types and value
 * encodings in, and rows mapped back to the table's TypeScript shape out.
 */
import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

type Column = { name: string; mapFromDriverValue(v: unknown): unknown };

/**
 * A row of `table` as a raw statement returned it (`returning *`: SQL column
 * names, driver values) in the shape Drizzle's own `returning()` gives.
 */
export function rowFrom<T extends PgTable>(table: T, raw: Record<string, unknown>): T['$inferSelect'] {
  const columns = getTableColumns(table) as Record<string, Column>;
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(columns)) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T['$inferSelect'];
}
