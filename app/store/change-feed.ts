import { EventEmitter } from "node:events";
import type { ChangeFeed } from "./store.js";

/** Wake-ups within one process: enough for the embedded engine, where one server owns the file. */
export class LocalChangeFeed implements ChangeFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(topic: string): void {
    this.emitter.emit(topic);
  }

  wait(topic: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
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
