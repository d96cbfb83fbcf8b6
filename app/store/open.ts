/**
 * Opens the configured engine. Each engine is imported only when chosen, so a SQLite server
 * never loads `pg` and a Postgres one never opens a SQLite file.
 */
import type { Logger } from "pino";
import { type Config, storeOptions } from "../config.js";
import type { Store } from "./store.js";

export async function openStore(config: Config, logger?: Logger): Promise<Store> {
  if (config.databaseUrl !== undefined) {
    const { openPostgresStore } = await import("./postgres/open.js");
    return openPostgresStore(
      {
        url: config.databaseUrl,
        poolMax: config.pgPoolMax,
        statementTimeoutMs: config.pgStatementTimeoutMs,
      },
      storeOptions(config),
      logger,
    );
  }
  const { SqliteStore } = await import("./sqlite/engine.js");
  return new SqliteStore(config.db, storeOptions(config), {
    synchronous: config.dbSync,
    busyTimeoutMs: 5000,
  });
}
