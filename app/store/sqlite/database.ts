import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema.js";

export type SqliteDb = BetterSQLite3Database<typeof schema>;

export interface SqliteOpenOptions {
  /** "normal" survives a killed process (WAL); "full" also survives power loss. */
  synchronous: "normal" | "full";
  busyTimeoutMs: number;
}

const MIGRATIONS = fileURLToPath(new URL("./migrations", import.meta.url));

export function openSqlite(
  path: string,
  opts: SqliteOpenOptions,
): { raw: Database.Database; db: SqliteDb } {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const raw = new Database(path);
  raw.pragma("journal_mode = WAL");
  raw.pragma(`synchronous = ${opts.synchronous.toUpperCase()}`);
  raw.pragma(`busy_timeout = ${opts.busyTimeoutMs}`);
  raw.pragma("foreign_keys = ON");
  cacheStatements(raw);
  const db = drizzle(raw, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return { raw, db };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * drizzle prepares every statement anew on each call; preparing was the largest single cost of
 * a lease cycle. Statements are reusable in better-sqlite3 (all use here is synchronous), so keep
 * them by SQL text. drizzle switches a statement to raw (array) rows right before the calls that
 * want them, and expects object rows otherwise, so a statement is handed out with raw mode off.
 */
function cacheStatements(raw: Database.Database) {
  const prepare = raw.prepare.bind(raw);
  const cache = new Map<string, Database.Statement>();
  raw.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (!stmt) {
      stmt = prepare(source);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(source, stmt);
    }
    if (stmt.reader) stmt.raw(false);
    return stmt;
  }) as typeof raw.prepare;
}

export class DatabaseInUse extends Error {}

/**
 * One server per SQLite file: the server holds an exclusive lock on `<db>.lock` (a SQLite file
 * of its own, so the CLI can still open the database itself) for as long as it runs. The
 * operating system drops the lock with the process, however it ends.
 */
export function lockDatabaseFile(path: string): { release(): void } {
  const lockPath = `${path}.lock`;
  const lock = new Database(lockPath, { timeout: 0 });
  try {
    lock.exec("begin exclusive");
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY"))
      throw new DatabaseInUse(
        `another qgjob server is using ${path} (it holds ${lockPath}): stop it first, or give ` +
          "this one its own --db (several replicas need Postgres: --database-url)",
      );
    throw err;
  }
  return { release: () => lock.close() };
}
