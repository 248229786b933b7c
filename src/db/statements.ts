/*
 * Helpers for the few statements written by hand (data-modifying CTEs) that
 * keep them tied to the Drizzle schema: column names, SQL types and value
 * encodings in, and rows mapped back to the table's TypeScript shape out.
 */
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * `INSERT INTO <table> (<columns>) SELECT <row> FROM <source> UNION ALL …`:
 * an insert whose rows exist only if `source` (a CTE) has a row, for chaining
 * data-modifying CTEs into one statement. Column names, SQL types and value
 * encodings come from the Drizzle table, so the SQL follows the schema.
 */
export function insertFrom<T extends PgTable>(table: T, rows: T['$inferInsert'][], source: SQL): SQL {
  const columns = getTableColumns(table) as Record<string, { name: string; getSQLType(): string; mapToDriverValue(v: unknown): unknown }>;
  const keys = Object.keys(rows[0]).filter((k) => (rows[0] as Record<string, unknown>)[k] !== undefined);
  const names = sql.join(
    keys.map((k) => sql.identifier(columns[k].name)),
    sql`, `,
  );
  const selects = rows.map((row) => {
    const values = keys.map((k) => {
      const column = columns[k];
      const value = (row as Record<string, unknown>)[k];
      return sql`${value === null ? null : column.mapToDriverValue(value)}::${sql.raw(column.getSQLType())}`;
    });
    return sql`select ${sql.join(values, sql`, `)} from ${source}`;
  });
  return sql`insert into ${table} (${names}) ${sql.join(selects, sql` union all `)}`;
}

type Column = { name: string; mapFromDriverValue(v: unknown): unknown };

/** postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`. */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  return Array.isArray(result) ? result : ((result as { rows?: Record<string, unknown>[] }).rows ?? []);
}

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
