import type Database from "better-sqlite3";
import type { RunResult } from "better-sqlite3";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type { LocalChangeFeed } from "../change-feed.js";
import type { StoreOptions } from "../store.js";
import type * as schema from "./schema.js";

/** A connection or an open transaction: the operations run the same on either. */
export type SqliteExec = BaseSQLiteDatabase<"sync", RunResult, typeof schema>;

export interface SqliteContext {
  raw: Database.Database;
  db: SqliteExec;
  feed: LocalChangeFeed;
  options: StoreOptions;
}
