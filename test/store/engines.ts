/**
 * The Store engines under test, each on a database of its own: a SQLite file in a temp dir, an
 * embedded PGlite, and a schema created for the run on the real Postgres server (dropped after).
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import Database from "better-sqlite3";
import pg from "pg";
import { loadConfig, storeOptions } from "../../app/config.js";
import { MIGRATIONS } from "../../app/store/postgres/database.js";
import type { PgExec } from "../../app/store/postgres/context.js";
import { PostgresStore } from "../../app/store/postgres/engine.js";
import { openPostgresStore } from "../../app/store/postgres/open.js";
import * as schema from "../../app/store/postgres/schema.js";
import { SqliteStore } from "../../app/store/sqlite/engine.js";
import type { Store, StoreOptions } from "../../app/store/store.js";
import { tempDir } from "../harness.js";

export const POSTGRES_URL =
  process.env.QGJOB_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A row as the engine's driver returns it (SQLite booleans are 0/1, Postgres bigints strings). */
export type RawRow = Record<string, unknown>;

export interface OpenedStore {
  store: Store;
  /** Reads the database directly, beside the store (for checks the Store API cannot express). */
  rows(sql: string): Promise<RawRow[]>;
  /** Closes the store and removes its database. */
  dispose(): Promise<void>;
}

export interface Engine {
  name: string;
  open(options?: StoreOptions): Promise<OpenedStore>;
}

export const testStoreOptions = () => storeOptions(loadConfig({}, {}));

export const sqliteEngine: Engine = {
  name: "sqlite",
  async open(options = testStoreOptions()) {
    const dir = tempDir("qgjob-store-");
    const file = join(dir, "qgjob.db");
    const store = new SqliteStore(file, options);
    const reader = new Database(file, { readonly: true });
    return {
      store,
      rows: async (sql) => reader.prepare(sql).all() as RawRow[],
      async dispose() {
        reader.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const pgliteEngine: Engine = {
  name: "pglite",
  async open(options = testStoreOptions()) {
    const client = new PGlite();
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder: MIGRATIONS });
    const store = new PostgresStore(
      { db: db as unknown as PgExec, close: () => client.close() },
      options,
    );
    return {
      store,
      rows: async (sql) => (await client.query<RawRow>(sql)).rows,
      dispose: () => store.close(),
    };
  },
};

/** A fresh schema on the real server, and a URL whose connections use only it. */
export async function createTestSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `qgjob_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.searchParams.set("options", `-c search_path=${name}`);
  return {
    url: url.toString(),
    async drop() {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`drop schema if exists ${name} cascade`);
      } finally {
        await admin.end();
      }
    },
  };
}

export const postgresEngine: Engine = {
  name: "postgres",
  async open(options = testStoreOptions()) {
    const schemaRun = await createTestSchema();
    const store = await openPostgresStore(
      { url: schemaRun.url, poolMax: 5, statementTimeoutMs: 10_000 },
      options,
    );
    const reader = new pg.Client({ connectionString: schemaRun.url });
    await reader.connect();
    return {
      store,
      rows: async (sql) => (await reader.query<RawRow>(sql)).rows,
      async dispose() {
        await reader.end();
        await store.close();
        await schemaRun.drop();
      },
    };
  },
};

/** Statements sent by any pg client in this process while `work` runs (NOTIFYs aside). */
export async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text: string };
    sent.push(typeof config === "string" ? config : config.text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  try {
    await work();
  } finally {
    pg.Client.prototype.query = original;
  }
  return sent.filter((s) => !s.includes("pg_notify"));
}

/** Backends waiting on the reader connection's locks, directly or behind one that does. */
const WAITING = `with first as (
    select pid from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid)))
  select (select count(*) from first)
    + (select count(*) from pg_stat_activity a
       where exists (select 1 from first f where f.pid = any(pg_blocking_pids(a.pid))))::int as n`;

/**
 * Waits until `n` backends wait on locks the store's reader holds (in a transaction it began
 * with `opened.rows("begin")`): how a test holds concurrent operations at a chosen point.
 */
export async function waitingOnReader(opened: OpenedStore, n: number) {
  for (;;) {
    // pg_stat_activity is read from a snapshot kept for the rest of the transaction: without
    // clearing it, a backend that connected after the first look would never be seen.
    await opened.rows("select pg_stat_clear_snapshot()");
    if (Number((await opened.rows(WAITING))[0]!.n) >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether the real server answers; the reason when it does not. */
export async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The engines a test file runs against, decided when it loads. Without a reachable server the
 * real-Postgres run is left out and that is printed; in CI (CI=true) it stays in and fails.
 */
export async function enginesUnderTest(): Promise<Engine[]> {
  const unreachable = await postgresReachable();
  if (unreachable === null || process.env.CI === "true") {
    return [sqliteEngine, pgliteEngine, postgresEngine];
  }
  console.warn(
    `real Postgres at ${POSTGRES_URL} is unreachable (${unreachable}): the real-server run was SKIPPED. ` +
      "Start one (or set QGJOB_TEST_POSTGRES_URL); with CI=true this is a failure.",
  );
  return [sqliteEngine, pgliteEngine];
}
