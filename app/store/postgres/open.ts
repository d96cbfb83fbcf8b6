/** A Postgres store for a server replica: pool, migrations, and the LISTEN connection. */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { LocalChangeFeed } from "../change-feed.js";
import type { StoreOptions } from "../store.js";
import { migratePostgres, openPool, type PgPoolOptions } from "./database.js";
import { PostgresStore } from "./engine.js";
import { Broadcaster } from "./broadcast.js";
import { regroupQueued } from "./heads.js";
import { ChangeListener } from "./listener.js";
import { PgRelay } from "./relay.js";

export async function openPostgresStore(
  opts: PgPoolOptions,
  options: StoreOptions,
  logger?: Logger,
): Promise<PostgresStore> {
  const { pool, db } = openPool(opts, logger);
  const feed = new LocalChangeFeed();
  const relay = new PgRelay(db, logger);
  const origin = randomUUID();
  const listener = new ChangeListener(opts.url, origin, feed, logger, relay);
  try {
    await migratePostgres(pool);
    await regroupQueued(db, options.grouping);
    await listener.start();
  } catch (err) {
    await listener.close();
    await pool.end();
    throw err;
  }
  const broadcaster = new Broadcaster(db, origin, logger);
  return new PostgresStore(
    {
      db,
      broadcast: broadcaster.send,
      relay,
      async close() {
        await listener.close();
        await broadcaster.close();
        await relay.close();
        await pool.end();
      },
    },
    options,
    feed,
  );
}
