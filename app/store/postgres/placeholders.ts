/**
 * Prepared statements' values by name: a set() or values() of placeholders, and the values for
 * them encoded as their columns encode them. A placeholder is not encoded by drizzle when it
 * runs unless it is a bare insert value, and that encoding turns a null JSON column into the
 * JSON text `null`; here a null stays SQL NULL.
 */
import { sql, type SQL } from "drizzle-orm";

/** `fields` as placeholders named `prefix` + field. */
export const placeholders = (fields: readonly string[], prefix = ""): Record<string, SQL> =>
  Object.fromEntries(fields.map((f) => [f, sql`${sql.placeholder(prefix + f)}`]));

/** Values for `placeholders` of `values`' fields, each encoded by its column. */
export function encoded(
  columns: Record<string, { mapToDriverValue(value: unknown): unknown }>,
  values: object,
  prefix = "",
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([f, v]) => [
      prefix + f,
      v == null ? null : columns[f]!.mapToDriverValue(v),
    ]),
  );
}
