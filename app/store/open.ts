/**
 * Opens the configured engine. Each engine is imported only when chosen, so a SQLite server
 * never loads `pg` and a Postgres one never opens a SQLite file.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import { type Config, ConfigError, storeOptions } from "../config.js";
import type { Store } from "./store.js";

export interface OpenOptions {
  /**
   * As a server: SQLite takes the file's lock (one server per file) and guards every write
   * against a full, failing or replaced file (sqlite/file-guard.ts).
   */
  server?: boolean;
}

export async function openStore(
  config: Config,
  logger?: Logger,
  opts: OpenOptions = {},
): Promise<Store> {
  if (config.databaseUrl !== undefined) {
    const { openPostgresStore } = await import("./postgres/open.js");
    return openPostgresStore(
      {
        url: config.databaseUrl,
        poolMax: config.pgPoolMax,
        statementTimeoutMs: config.pgStatementTimeoutMs,
        prepare: config.pgPrepare,
      },
      storeOptions(config),
      logger,
    );
  }
  const { SqliteStore } = await import("./sqlite/engine.js");
  const open = () =>
    new SqliteStore(config.db, storeOptions(config), {
      synchronous: config.dbSync,
      busyTimeoutMs: 5000,
    });
  if (!opts.server || config.db === ":memory:") return open();
  const { DatabaseInUse, lockDatabaseFile } = await import("./sqlite/database.js");
  const { FileGuard } = await import("./sqlite/file-guard.js");
  const { guardedStore } = await import("./sqlite/guarded.js");
  let lock;
  try {
    mkdirSync(dirname(config.db), { recursive: true });
    lock = lockDatabaseFile(config.db);
  } catch (err) {
    if (err instanceof DatabaseInUse) throw new ConfigError(err.message);
    throw err;
  }
  try {
    const store = open();
    const guard = new FileGuard(config.db);
    guard.start();
    return guardedStore(store, guard, () => {
      guard.stop();
      lock.release();
    });
  } catch (err) {
    lock.release();
    throw err;
  }
}
