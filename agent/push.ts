/**
 * The agent's end of the push channel: an event stream on its lease that tells it, within a
 * moment of the request, which jobs were cancelled and when the lease was taken away. It
 * reconnects with backoff until the lease ends; heartbeats stay the liveness signal and still
 * carry the same news, so a push channel that cannot connect only makes a cancel slower.
 */
import type { Logger } from "pino";
import { ApiError, type QgjobClient } from "../api/client.js";

export interface PushHandlers {
  cancel(jobIds: string[]): void;
  revoked(reason: string): void;
}

/** Reconnect delays: quick at first (a replica restarting), capped at 5 s. */
const delay = (attempt: number) => Math.min(5000, 100 * 2 ** attempt);

export function openPush(
  client: QgjobClient,
  leaseId: string,
  handlers: PushHandlers,
  log: Pick<Logger, "debug" | "warn">,
): { close(): void } {
  const closed = new AbortController();
  void (async () => {
    for (let attempt = 0; !closed.signal.aborted;) {
      try {
        const events = await client.leaseEvents(leaseId, { signal: closed.signal });
        attempt = 0;
        for await (const e of events) {
          const data = JSON.parse(e.data) as { job_ids?: string[]; reason?: string };
          if (e.event === "cancel") handlers.cancel(data.job_ids ?? []);
          else if (e.event === "revoked") return handlers.revoked(data.reason ?? "revoked");
          else if (e.event === "end") return;
        }
      } catch (err) {
        if (closed.signal.aborted) return;
        // 404: the server no longer knows this lease; the heartbeat will say what happened.
        if (err instanceof ApiError && err.kind === "http" && !err.retryable && err.status! < 500) {
          return;
        }
        log.debug({ err: (err as Error).message }, "push channel lost; reconnecting");
      }
      await new Promise((r) => setTimeout(r, delay(attempt++)));
    }
  })().catch((err: unknown) => log.warn({ err }, "push channel failed"));
  return { close: () => closed.abort() };
}
