import { EventEmitter } from "node:events";
import type { Relay } from "./store.js";

/** Messages within one process: enough for the embedded engine, where one server owns the file. */
export class LocalRelay implements Relay {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(message: string): Promise<void> {
    this.deliver(message);
    return Promise.resolve();
  }

  /** Hands a message to this process's subscribers (the Postgres listener calls it too). */
  deliver(message: string): void {
    this.emitter.emit("message", message);
  }

  subscribe(listener: (message: string) => void): () => void {
    this.emitter.on("message", listener);
    return () => this.emitter.off("message", listener);
  }
}
