/**
 * The relay across replicas: each message is a NOTIFY on its own channel, which every replica's
 * listener (this one included) hands to its subscribers. Messages are sent in order, one
 * statement at a time, and never inside a write transaction (see broadcast.ts for why).
 * A NOTIFY payload must stay under 8000 bytes; callers keep their messages smaller.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { LocalRelay } from "../relay.js";
import { RELAY_CHANNEL, type PgExec } from "./context.js";

export class PgRelay extends LocalRelay {
  private pending: string[] = [];
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PgExec,
    private readonly log?: Pick<Logger, "warn">,
  ) {
    super();
  }

  override publish(message: string): Promise<void> {
    this.pending.push(message);
    if (this.pending.length === 1) this.sending = this.sending.then(() => this.flush());
    return this.sending;
  }

  private async flush() {
    const batch = this.pending;
    this.pending = [];
    // Messages hold no newline (callers' format); unnest keeps their order.
    await this.db
      .execute(
        sql`select pg_notify(${RELAY_CHANNEL}, m) from unnest(string_to_array(${batch.join("\n")}, E'\n')) with ordinality as t(m, n) order by n`,
      )
      .then(
        () => undefined,
        (err: unknown) => this.log?.warn({ err, messages: batch.length }, "could not relay"),
      );
  }

  async close(): Promise<void> {
    await this.sending;
  }
}
