/**
 * Statements the server parses and plans once per connection. Every statement the store sends
 * with values names its shape by its text alone. For most of the lease cycle's statements
 * Postgres spends longer parsing and planning the shape than running it (a lease's read: 0.59 ms
 * of planning against 0.19 ms of execution), so a shape sent often goes as a named prepared
 * statement: each connection parses it once and binds new values after.
 *
 * Shapes also differ by list lengths (IN lists, multi-row inserts), so only a shape seen
 * `HOT_AFTER` times is named, and a connection holds at most `PER_CONNECTION` of them; the rest
 * run unnamed, as before. A pooler in transaction mode (PgBouncer before 1.21) cannot keep a
 * prepared statement on one server connection: `QGJOB_PG_PREPARE=false` turns this off.
 */
import { createHash } from "node:crypto";
import pg from "pg";

const HOT_AFTER = 3;
/** Shapes counted per pool: enough for every statement the store has, not for every list length. */
const SHAPES_COUNTED = 2_000;
const PER_CONNECTION = 256;

interface QueryConfig {
  text: string;
  name?: string;
  values?: unknown[];
  submit?: unknown;
}

function isPlainQuery(arg: unknown): arg is QueryConfig {
  const config = arg as QueryConfig | null;
  return (
    typeof config === "object" &&
    config !== null &&
    typeof config.text === "string" &&
    config.name === undefined &&
    config.submit === undefined
  );
}

/** A pg.Client class, for one pool, that sends the pool's frequent shapes as prepared statements. */
export function preparingClient(): typeof pg.Client {
  const seen = new Map<string, number>();
  const hot = (text: string): boolean => {
    const count = (seen.get(text) ?? 0) + 1;
    if (seen.has(text) || seen.size < SHAPES_COUNTED) seen.set(text, count);
    return count >= HOT_AFTER;
  };
  return class PreparingClient extends pg.Client {
    private readonly prepared = new Set<string>();

    override query(...args: unknown[]): never {
      const [config, second] = args;
      const values = isPlainQuery(config)
        ? (config.values ?? (Array.isArray(second) ? (second as unknown[]) : undefined))
        : undefined;
      if (isPlainQuery(config) && values?.length && hot(config.text)) {
        const name = `qgjob_${createHash("sha1").update(config.text).digest("hex").slice(0, 24)}`;
        if (this.prepared.has(name) || this.prepared.size < PER_CONNECTION) {
          this.prepared.add(name);
          const rest = Array.isArray(second) ? args.slice(2) : args.slice(1);
          return (super.query as (...a: unknown[]) => never)({ ...config, name, values }, ...rest);
        }
      }
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  };
}
