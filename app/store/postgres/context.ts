import { sql, type SQL } from "drizzle-orm";
import { QgjobError } from "../../errors.js";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { LocalChangeFeed } from "../change-feed.js";
import type { StoreOptions } from "../store.js";
import type * as schema from "./schema.js";

/** A pool or an open transaction: the operations run the same on either. */
export type PgExec = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The channel every replica LISTENs on; the payload is the change-feed topic. */
export const CHANGE_CHANNEL = "qgjob_changes";
/** The channel of relayed messages (live log chunks); the payload is the message. */
export const RELAY_CHANNEL = "qgjob_relay";

export interface PgContext {
  db: PgExec;
  /** Wake-ups for long polls in this process. */
  feed: LocalChangeFeed;
  /** Tells the other replicas (absent for an embedded database only this process opens). */
  broadcast?: (topics: Iterable<string>) => void;
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

/** The server went away (restart, failover, a killed backend) or cannot be reached. */
const CONNECTION_LOST = new Set([
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
]);

export function connectionLost(err: unknown): boolean {
  const code = sqlState(err);
  if (code !== undefined && CONNECTION_LOST.has(code)) return true;
  const message = err instanceof Error ? `${err.message} ${String(err.cause)}` : "";
  return /Connection terminated|timeout exceeded when trying to connect/i.test(message);
}

/**
 * A lost database connection is the server being unavailable for a moment, not a bug: callers
 * get a 503 to retry (agents and the CLI do), instead of a 500.
 */
export function unavailableIfLost(err: unknown): never {
  if (connectionLost(err)) {
    throw new QgjobError("unavailable", "the database is unavailable; try again shortly");
  }
  throw err;
}

export function sqlState(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (typeof e.code === "string") return e.code;
  }
  return undefined;
}

/** Wakes this process's long polls on `topics` at once and tells the other replicas. */
export function announce(ctx: PgContext, topics: ReadonlySet<string>) {
  for (const topic of topics) ctx.feed.publish(topic);
  if (topics.size > 0) ctx.broadcast?.(topics);
}

/**
 * Runs `work` in one READ COMMITTED transaction. Topics it publishes are announced once it has
 * committed: to this process's long polls at once, and to the other replicas (broadcast.ts).
 */
export async function transaction<T>(
  ctx: PgContext,
  work: (tx: PgExec, publish: Publish) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const topics = new Set<string>();
    let began = false;
    try {
      const value = await ctx.db.transaction(async (tx) => {
        began = true;
        return work(tx, (topic) => topics.add(topic));
      });
      announce(ctx, topics);
      return value;
    } catch (err) {
      const code = sqlState(err);
      if (attempt < TRIES && code !== undefined && RETRYABLE.has(code)) continue;
      // A pooled connection that died while idle fails at BEGIN, before anything ran: another
      // connection can do the work. Later in the transaction the outcome is the server's to tell.
      if (attempt < TRIES && !began && connectionLost(err)) continue;
      unavailableIfLost(err);
    }
  }
}

/**
 * Runs one statement on its own (it commits by itself): as `transaction` does, a deadlock or a
 * serialization failure runs it again, and a lost connection is a 503.
 */
export async function statement<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = sqlState(err);
      if (attempt < TRIES && code !== undefined && RETRYABLE.has(code)) continue;
      unavailableIfLost(err);
    }
  }
}

/**
 * Writes that return nothing, as CTEs another statement carries (`db.with(...ctes)`): one round
 * trip instead of one each. Every CTE sees the rows as they were before the statement.
 */
export const ctes = (db: PgExec, writes: SQL[]) =>
  writes.map((write, i) => db.$with(`w${i}`, {}).as(write));

/** Writes that return nothing, in one statement (the last carries the others as CTEs). */
export async function inOneStatement(db: PgExec, writes: SQL[]) {
  const head = writes.slice(0, -1).map((write, i) => sql`${sql.raw(`w${i}`)} as (${write})`);
  const last = writes.at(-1)!;
  await db.execute(head.length ? sql`with ${sql.join(head, sql`, `)} ${last}` : last);
}
