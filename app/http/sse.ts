/**
 * Server-sent events on a raw response, bounded: a client that stops reading is dropped once
 * its unsent backlog passes `maxBufferedBytes` (the socket's buffer is the only queue), so a
 * stuck watcher costs a fixed amount of memory and never slows the others. A comment line every
 * `pingMs` keeps proxies from timing the stream out and finds dead connections.
 */
import type { ServerResponse } from "node:http";

export interface SseOptions {
  /** Aborted when the server shuts down. */
  shutdown: AbortSignal;
  pingMs?: number;
  maxBufferedBytes?: number;
  /** Tells the client how long to wait before reconnecting (the `retry:` field). */
  retryMs?: number;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  connection: "keep-alive",
  // nginx and similar proxies buffer responses unless told not to.
  "x-accel-buffering": "no",
};

export class SseStream {
  private readonly controller = new AbortController();
  private readonly ping: NodeJS.Timeout;
  private readonly maxBuffered: number;
  /** Why the stream ended: the client left, the server closed it, or it fell too far behind. */
  endedBy: "client" | "server" | "slow" | null = null;

  constructor(
    private readonly res: ServerResponse,
    opts: SseOptions,
  ) {
    this.maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
    res.writeHead(200, SSE_HEADERS);
    res.write(`retry: ${opts.retryMs ?? 1000}\n\n`);
    res.once("close", () => this.finish("client"));
    const onShutdown = () => this.close();
    opts.shutdown.addEventListener("abort", onShutdown, { once: true });
    this.controller.signal.addEventListener("abort", () =>
      opts.shutdown.removeEventListener("abort", onShutdown),
    );
    if (opts.shutdown.aborted) this.close();
    this.ping = setInterval(() => this.write(": ping\n\n"), opts.pingMs ?? 15_000);
    this.ping.unref();
  }

  /** Aborted once the stream is over, whoever ended it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Sends one event; false when the stream is over (closed, or dropped for being slow). */
  send(event: string, data: unknown, id?: string): boolean {
    const lines = [`event: ${event}`];
    if (id !== undefined) lines.push(`id: ${id}`);
    // JSON never holds a raw newline, so the data is always one `data:` line.
    lines.push(`data: ${JSON.stringify(data)}`);
    return this.write(lines.join("\n") + "\n\n");
  }

  /** Ends the stream from the server's side (the run finished, the server is closing). */
  close(): void {
    if (this.finish("server")) this.res.end();
  }

  private write(text: string): boolean {
    if (this.closed) return false;
    if (this.res.writableLength > this.maxBuffered) {
      // It has not read what we sent long ago: drop it rather than queue more for it.
      this.finish("slow");
      this.res.destroy();
      return false;
    }
    this.res.write(text);
    return true;
  }

  private finish(by: "client" | "server" | "slow"): boolean {
    if (this.closed) return false;
    this.endedBy = by;
    clearInterval(this.ping);
    this.controller.abort();
    return true;
  }
}
