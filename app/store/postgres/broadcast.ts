/**
 * The NOTIFY side of the change feed. Postgres serialises every committing transaction that
 * has sent a NOTIFY (they queue on one database-wide lock, held through the commit's WAL flush),
 * so notifying inside each write transaction made every write wait for every other. Instead, the
 * topics of committed transactions are gathered for a few milliseconds and sent in one
 * statement of their own, which writes nothing. A notification lost to a crash in between only
 * delays a wake-up: long polls re-read every 2 s. One NOTIFY carries every topic gathered.
 */
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { gatherTopics } from "../change-feed.js";
import { CHANGE_CHANNEL, type PgExec } from "./context.js";

const GATHER_MS = 5;
/** Postgres refuses a payload of 8,000 bytes or more. */
const PAYLOAD_BYTES = 7_000;

/**
 * The gathered topics as NOTIFY payloads: usually one, each the sender's origin then one topic
 * a line. The sender's own listener hears it too and drops it (it woke its polls already).
 */
export function notifyPayloads(origin: string, topics: string[]): string[] {
  const payloads: string[] = [];
  let lines = [origin];
  let bytes = Buffer.byteLength(origin);
  for (const topic of topics) {
    const size = Buffer.byteLength(topic) + 1;
    if (lines.length > 1 && bytes + size > PAYLOAD_BYTES) {
      payloads.push(lines.join("\n"));
      lines = [origin];
      bytes = Buffer.byteLength(origin);
    }
    lines.push(topic);
    bytes += size;
  }
  if (lines.length > 1) payloads.push(lines.join("\n"));
  return payloads;
}

export class Broadcaster {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PgExec,
    /** This replica's name in its payloads. */
    private readonly origin: string,
    private readonly log?: Pick<Logger, "warn">,
  ) {}

  readonly send = (topics: Iterable<string>) => {
    this.pending.push(...topics);
    this.timer ??= setTimeout(() => this.flush(), GATHER_MS);
  };

  private flush() {
    this.timer = null;
    const payloads = notifyPayloads(this.origin, gatherTopics(this.pending));
    this.pending = [];
    this.sending = this.sending.then(() =>
      this.db
        .execute(
          sql`select pg_notify(${CHANGE_CHANNEL}, p)
            from jsonb_array_elements_text(${JSON.stringify(payloads)}::jsonb) p`,
        )
        .then(
          () => undefined,
          (err: unknown) => this.log?.warn({ err }, "could not notify the other replicas"),
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
