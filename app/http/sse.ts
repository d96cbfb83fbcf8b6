/**
 * Server-sent events on a raw response, bounded: a client that stops reading is dropped once
 * its unsent backlog passes `maxBufferedBytes` (the socket's buffer is the only queue) or the
 * socket has taken nothing of it for `stallMs`, so a stuck watcher costs a fixed amount of memory, is gone within
 * a bounded time, and never slows the others. A comment line every
 * `pingMs` keeps proxies from timing the stream out and finds dead connections.
 */
import type { ServerResponse } from "node:http";

export interface SseOptions {
  /** Aborted when the server shuts down. */
  shutdown: AbortSignal;
  pingMs?: number;
  maxBufferedBytes?: number;
  stallMs?: number;
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
  private readonly stallMs: number;
  private stall: NodeJS.Timeout | null = null;
  /** Why the stream ended: the client left, the server closed it, or it fell too far behind. */
  endedBy: "client" | "server" | "slow" | null = null;

  constructor(
    private readonly res: ServerResponse,
    opts: SseOptions,
  ) {
    this.maxBuffered = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.stallMs = opts.stallMs ?? 30_000;
    res.on("drain", () => {
      if (this.stall) clearTimeout(this.stall);
      this.stall = null;
    });
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
    return this.sendJson(event, JSON.stringify(data), id);
  }

  /** Sends JSON text serialised once for many streams. JSON holds no raw newline: one line. */
  sendJson(event: string, json: string, id?: string): boolean {
    const head = id === undefined ? `event: ${event}\n` : `event: ${event}\nid: ${id}\n`;
    return this.write(`${head}data: ${json}\n\n`);
  }

  /** Ends the stream from the server's side (the run finished, the server is closing). */
  close(): void {
    if (!this.finish("server")) return;
    this.res.end();
    // What is still unsent waits for the client; one that never reads must not keep it.
    if (this.res.writableLength > 0) setTimeout(() => this.res.destroy(), this.stallMs).unref();
  }

  private write(text: string): boolean {
    if (this.closed) return false;
    if (this.res.writableLength > this.maxBuffered) {
      this.drop();
      return false;
    }
    if (!this.res.write(text) && !this.stall) this.watchProgress(this.sent());
    return true;
  }

  /** Bytes the kernel took (bytesWritten also counts what still waits in Node's buffer). */
  private sent(): number {
    const socket = this.res.socket;
    return socket ? socket.bytesWritten - socket.writableLength : 0;
  }

  /** While a backlog waits, the client must take some of it every `stallMs`. */
  private watchProgress(from: number) {
    this.stall = setTimeout(() => {
      if (this.sent() === from) this.drop();
      else this.watchProgress(this.sent());
    }, this.stallMs);
    this.stall.unref();
  }

  /** It has not read what we sent long ago: drop it rather than queue more for it. */
  private drop() {
    this.finish("slow");
    this.res.destroy();
  }

  private finish(by: "client" | "server" | "slow"): boolean {
    if (this.closed) return false;
    this.endedBy = by;
    clearInterval(this.ping);
    if (this.stall) clearTimeout(this.stall);
    this.controller.abort();
    return true;
  }
}
