/**
 * Rows for an `INSERT ... SELECT` as one jsonb parameter: a statement of one shape whatever the
 * number of rows (VALUES takes a parameter per column per row, capped at 65,535 a statement).
 */
import { getTableColumns, Placeholder, sql, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

/**
 * A SELECT of `rows` with every column of `table` (one without generated columns), in the order
 * drizzle's `insert(table).select(...)` lists them. Each row holds every column, by its
 * property name. `rows` may be a placeholder for `rowsJson`'s text, in a prepared statement.
 */
export function rowsOf(table: PgTable, rows: readonly object[] | Placeholder): SQL {
  const columns = Object.entries(getTableColumns(table));
  const json = rows instanceof Placeholder ? rows : rowsJson(table, rows);
  const names = sql.join(
    columns.map(([, column]) => sql.identifier(column.name)),
    sql`, `,
  );
  const types = sql.join(
    columns.map(
      ([, column]) => sql`${sql.identifier(column.name)} ${sql.raw(column.getSQLType())}`,
    ),
    sql`, `,
  );
  return sql`select ${names} from jsonb_to_recordset(${json}::jsonb) as r(${types})`;
}

/** `rows` as the JSON text `rowsOf` reads: each row's columns by their names in the table. */
export function rowsJson(table: PgTable, rows: readonly object[]): string {
  const columns = Object.entries(getTableColumns(table));
  return JSON.stringify(
    rows.map((row) =>
      Object.fromEntries(
        columns.map(([key, column]) => [
          column.name,
          (row as Record<string, unknown>)[key] ?? null,
        ]),
      ),
    ),
  );
}
