/**
 * Connecting to Postgres: the pool, the migrations (applied once, under an advisory lock, however
 * many replicas start at the same moment), and an embedded PGlite for tests.
 */
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { Logger } from "pino";
import { connectionLost, type PgExec } from "./context.js";
import { preparingClient } from "./prepared.js";
import * as schema from "./schema.js";

export const MIGRATIONS = fileURLToPath(new URL("./migrations", import.meta.url));

export interface PgPoolOptions {
  url: string;
  /** Connections per replica. */
  poolMax: number;
  /** A statement running longer than this is cancelled by the server. */
  statementTimeoutMs: number;
  /** Frequent statements go as prepared statements (prepared.ts); default true. */
  prepare?: boolean;
}

/**
 * A pool whose plain reads survive a connection that died while idle (a database restart or a
 * killed backend): the pool notices such a connection only when it is next used, so a SELECT
 * that fails that way runs once more on a fresh one. Writes are not repeated here: transactions
 * have their own rule (context.ts).
 */
class RecoveringPool extends pg.Pool {
  override query(...args: unknown[]): never {
    const run = () => (super.query as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string })?.text;
    if (typeof args[args.length - 1] === "function" || !/^\s*select\b/i.test(text ?? "")) {
      return run() as never;
    }
    return run().catch((err: unknown) =>
      connectionLost(err) ? run() : Promise.reject(err),
    ) as never;
  }
}

export function openPool(
  opts: PgPoolOptions,
  log?: Pick<Logger, "warn">,
): { pool: pg.Pool; db: PgExec } {
  const pool = new RecoveringPool({
    ...(opts.prepare === false ? {} : { Client: preparingClient() }),
    connectionString: opts.url,
    max: opts.poolMax,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs,
    // A connection left in a transaction by a crashed request must not hold row locks forever.
    idle_in_transaction_session_timeout: Math.max(opts.statementTimeoutMs * 2, 60_000),
    application_name: "qgjob",
  });
  // A connection that dies while idle (database restart) is dropped from the pool and replaced on
  // the next checkout; without a listener the error would crash the process.
  pool.on("error", (err) => log?.warn({ err }, "an idle database connection was lost"));
  return { pool, db: drizzle(pool, { schema }) as unknown as PgExec };
}

/**
 * Applies the committed migrations. Replicas starting together all get here: the first takes the
 * session advisory lock and migrates, the others wait for it and then find nothing to do. The
 * migrations table lives in the same schema as the tables, so databases sharing a server (or
 * test runs in their own schemas) never see each other's history.
 */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ schema: string }>("select current_schema() as schema");
    const target = rows[0]?.schema;
    if (!target) throw new Error("the database has no current schema: check search_path");
    await client.query("select pg_advisory_lock(hashtext($1))", [`qgjob:migrate:${target}`]);
    try {
      await migrate(drizzle(client, { schema }), {
        migrationsFolder: MIGRATIONS,
        migrationsSchema: target,
      });
    } finally {
      await client.query("select pg_advisory_unlock(hashtext($1))", [`qgjob:migrate:${target}`]);
    }
  } finally {
    client.release();
  }
}

export async function ping(db: PgExec): Promise<void> {
  await db.execute(sql`select 1`);
}
