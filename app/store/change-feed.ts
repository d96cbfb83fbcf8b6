import { EventEmitter } from "node:events";
import type { ChangeFeed } from "./store.js";

/** Topics whose last publish is remembered; an older one is forgotten (its waits time out). */
const REMEMBERED = 10_000;

/** Wake-ups within one process: enough for the embedded engine, where one server owns the file. */
export class LocalChangeFeed implements ChangeFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private seq = 0;
  /** Each topic's last publish, oldest first: a wait that starts late still sees it. */
  private readonly last = new Map<string, number>();

  publish(topic: string): void {
    this.last.delete(topic);
    this.last.set(topic, ++this.seq);
    if (this.last.size > REMEMBERED) this.last.delete(this.last.keys().next().value!);
    this.emitter.emit(topic);
  }

  mark(): number {
    return this.seq;
  }

  firedSince(topic: string, since: number): boolean {
    return (this.last.get(topic) ?? 0) > since;
  }

  wait(topic: string, timeoutMs: number, signal?: AbortSignal, since?: number): Promise<boolean> {
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    // Published while the caller was reading: it may have read before the change.
    if (since !== undefined && this.firedSince(topic, since)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (fired: boolean) => {
        clearTimeout(timer);
        this.emitter.off(topic, onFire);
        signal?.removeEventListener("abort", onAbort);
        resolve(fired);
      };
      const onFire = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.emitter.once(topic, onFire);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
