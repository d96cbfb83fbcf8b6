/**
 * The NOTIFY side of the change feed. Postgres serialises every committing transaction that
 * has sent a NOTIFY (they queue on one database-wide lock, held through the commit's WAL flush),
 * so notifying inside each write transaction made every write wait for every other. Instead, the
 * topics of committed transactions are gathered for a few milliseconds and sent in one
 * statement of their own, which writes nothing. A notification lost to a crash in between only
 * delays a wake-up: long polls re-read every 2 s.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { CHANGE_CHANNEL, type PgExec } from "./context.js";

const GATHER_MS = 5;

export class Broadcaster {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PgExec,
    private readonly log?: Pick<Logger, "warn">,
  ) {}

  readonly send = (topics: Iterable<string>) => {
    for (const topic of topics) this.pending.add(topic);
    this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
  };

  private flush() {
    this.timer = null;
    const topics = [...this.pending];
    this.pending.clear();
    this.sending = this.sending.then(() =>
      this.db
        .execute(
          sql`select pg_notify(${CHANGE_CHANNEL}, t) from unnest(string_to_array(${topics.join("\n")}, E'\n')) t`,
        )
        .then(
          () => undefined,
          (err: unknown) => this.log?.warn({ err, topics }, "could not notify the other replicas"),
        ),
    );
  }

  /** Sends what is pending; call before closing the pool. */
  async close(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.flush();
    }
    await this.sending;
  }
}
