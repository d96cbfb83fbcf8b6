import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { LocalChangeFeed } from "../change-feed.js";
import type { StoreOptions } from "../store.js";
import type * as schema from "./schema.js";

/** A pool or an open transaction: the operations run the same on either. */
export type PgExec = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The channel every replica LISTENs on; the payload is the change-feed topic. */
export const CHANGE_CHANNEL = "qgjob_changes";

export interface PgContext {
  db: PgExec;
  /** Wake-ups for long polls in this process. */
  feed: LocalChangeFeed;
  /** Also NOTIFY other replicas (false for an embedded database only this process opens). */
  broadcast: boolean;
  options: StoreOptions;
}

/** Adds a change-feed topic to announce once the transaction commits. */
export type Publish = (topic: string) => void;

/**
 * Deadlocks and serialization failures are the database choosing a loser among concurrent
 * writers (e.g. a cancel racing a result post on the same lease): running again is the answer.
 */
const RETRYABLE = new Set(["40001", "40P01"]);
const TRIES = 4;

export function sqlState(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (typeof e.code === "string") return e.code;
  }
  return undefined;
}

/**
 * Runs `work` in one READ COMMITTED transaction. Topics it publishes are NOTIFYed inside the
 * transaction (Postgres delivers them only on commit, so no replica wakes for work that rolled
 * back) and announced to this process's own long polls after the commit.
 */
export async function transaction<T>(
  ctx: PgContext,
  work: (tx: PgExec, publish: Publish) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const topics = new Set<string>();
    try {
      const value = await ctx.db.transaction(async (tx) => {
        const value = await work(tx, (topic) => topics.add(topic));
        if (topics.size > 0 && ctx.broadcast) await notify(tx, topics);
        return value;
      });
      for (const topic of topics) ctx.feed.publish(topic);
      return value;
    } catch (err) {
      const code = sqlState(err);
      if (attempt < TRIES && code !== undefined && RETRYABLE.has(code)) continue;
      throw err;
    }
  }
}

function notify(tx: PgExec, topics: Set<string>) {
  return tx.execute(
    sql`select pg_notify(${CHANGE_CHANNEL}, t) from unnest(string_to_array(${[...topics].join("\n")}, E'\n')) t`,
  );
}
