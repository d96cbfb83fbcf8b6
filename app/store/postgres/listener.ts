/**
 * The LISTEN side of the change feed: one dedicated connection per replica (a pooled one would
 * be handed to queries and lose its LISTEN). When the database restarts or the connection drops,
 * it reconnects with backoff and LISTENs again; long polls meanwhile fall back on their periodic
 * re-read, so a lost notification delays a wake-up but never loses work.
 */
import type { Logger } from "pino";
import pg from "pg";
import type { LocalChangeFeed } from "../change-feed.js";
import type { LocalRelay } from "../relay.js";
import { CHANGE_CHANNEL, RELAY_CHANNEL } from "./context.js";

const BACKOFF_MS = [100, 500, 1000, 2000, 5000];

export class ChangeListener {
  private client: pg.Client | null = null;
  private closed = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    /** This replica's name in its own payloads (broadcast.ts), which it drops. */
    private readonly origin: string,
    private readonly feed: LocalChangeFeed,
    private readonly log?: Pick<Logger, "warn" | "info">,
    private readonly relay?: LocalRelay,
  ) {}

  /** Resolves once the first LISTEN is in place (or rejects when the database is unreachable). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: "qgjob-listen" });
    client.on("notification", (msg) => {
      if (msg.channel === CHANGE_CHANNEL && msg.payload) this.heard(msg.payload);
      else if (msg.channel === RELAY_CHANNEL && msg.payload) this.relay?.deliver(msg.payload);
    });
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${CHANGE_CHANNEL}`);
      if (this.relay) await client.query(`listen ${RELAY_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    if (this.failures > 0) this.log?.info({}, "change listener reconnected");
    this.failures = 0;
    // Work may have arrived while no one listened: let every long poll look again.
    this.feed.publish("work");
  }

  /** A payload of broadcast.ts: the sender, then its topics. */
  private heard(payload: string) {
    const [origin, ...topics] = payload.split("\n");
    if (origin === this.origin) return;
    for (const topic of topics) this.feed.publish(topic);
  }

  private lost(client: pg.Client) {
    if (this.client !== client || this.closed) return;
    this.client = null;
    client.removeAllListeners("end");
    void client.end().catch(() => {});
    this.schedule();
  }

  private schedule() {
    if (this.closed || this.retry) return;
    const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!;
    this.failures++;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect().catch((err: unknown) => {
        this.log?.warn({ err, attempt: this.failures }, "change listener cannot reconnect yet");
        this.schedule();
      });
    }, delay);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners("end");
      await client.end().catch(() => {});
    }
  }
}
