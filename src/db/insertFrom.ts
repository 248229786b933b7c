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
