/** Prometheus metrics. One registry per server, so tests can run several side by side. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { TARGETS } from "../api/schemas.js";
import type { Store } from "./store/store.js";

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(store: Store) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "qgjob_process_" });
  const registers = [registry];
  return {
    registry,
    submitted: new Counter({
      name: "qgjob_jobs_submitted_total",
      help: "Jobs accepted by submissions",
      registers,
    }),
    outcomes: new Counter({
      name: "qgjob_job_outcomes_total",
      help: "Jobs that reached a terminal state, by state",
      labelNames: ["status"] as const,
      registers,
    }),
    leases: new Counter({
      name: "qgjob_leases_granted_total",
      help: "Leases granted, by target and the objective that chose the group",
      labelNames: ["target", "reason"] as const,
      registers,
    }),
    installs: new Counter({
      name: "qgjob_installs_total",
      help: "Leases that required installing an app version on the device",
      labelNames: ["target"] as const,
      registers,
    }),
    requeues: new Counter({
      name: "qgjob_jobs_requeued_total",
      help: "Jobs put back in the queue after an infrastructure failure or a lost agent",
      registers,
    }),
    released: new Counter({
      name: "qgjob_jobs_released_total",
      help: "Jobs put back in the queue by an agent releasing its lease",
      registers,
    }),
    queueDepth: new Gauge({
      name: "qgjob_queue_depth",
      help: "Queued jobs per target",
      labelNames: ["target"] as const,
      registers,
      async collect() {
        const m = await store.metrics(Date.now());
        for (const target of TARGETS) this.set({ target }, m.queuedByTarget[target] ?? 0);
      },
    }),
    liveLeases: new Gauge({
      name: "qgjob_leases_live",
      help: "Leases held by agents right now",
      registers,
      async collect() {
        this.set((await store.metrics(Date.now())).liveLeases);
      },
    }),
  };
}
