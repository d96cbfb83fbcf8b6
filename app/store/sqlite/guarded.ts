/**
 * The SQLite store as a server opens it: writes pass the file guard (file-guard.ts) first, a
 * storage failure of any call becomes a 503, and /readyz (ping) fails while the guard is at
 * fault. Calls not known to be reads count as writes, so a method added later is guarded too.
 */
import type { Store } from "../store.js";
import type { FileGuard } from "./file-guard.js";

const READS = new Set([
  "findToken",
  "hasTokens",
  "getRun",
  "getRunView",
  "getRunPage",
  "listRuns",
  "getJob",
  "jobsOfLeases",
  "listJobs",
  "getAgent",
  "listAgents",
  "getLease",
  "findGithubCheck",
  "githubDeliverySeen",
  "queueOverview",
  "previewNextLeases",
  "metrics",
  "leaseDevices",
  "runLeaseDevices",
]);

export function guardedStore(store: Store, guard: FileGuard, onClose: () => void): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const call = value as (...args: unknown[]) => unknown;
      if (prop === "close") {
        return async () => {
          onClose();
          await call.apply(target);
        };
      }
      if (prop === "ping") {
        return async () => {
          guard.look();
          guard.beforeWrite();
          return call.apply(target);
        };
      }
      const write = !READS.has(prop);
      // Every Store method answers a promise: a refusal is a rejection too, never a throw.
      return async (...args: unknown[]) => {
        try {
          if (write) guard.beforeWrite();
          return await call.apply(target, args);
        } catch (err) {
          return guard.failed(err);
        }
      };
    },
  });
}
