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
  const db = drizzle(raw, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return { raw, db };
}
