/** Prometheus metrics. One registry per server, so tests can run several side by side. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { TARGETS } from "../api/schemas.js";
import type { BlobStore } from "./blobs/store.js";
import type { Store } from "./store/store.js";

export type Metrics = ReturnType<typeof createMetrics>;

type Registers = Registry[];

export function createMetrics(store: Store, blobs?: Pick<BlobStore, "space">) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "qgjob_process_" });
  const registers = [registry];
  if (blobs?.space) volumeGauges(registry, blobs.space.bind(blobs));
  return {
    registry,
    ...requestMetrics(registers),
    ...jobMetrics(registers),
    ...leaseMetrics(registers),
    ...deviceMetrics(registers),
    ...blobMetrics(registers, store),
    ...stateGauges(registers, store),
  };
}

function requestMetrics(registers: Registers) {
  return {
    // By route pattern, not URL: ids would make a series per run. What a watcher costs is read here.
    httpRequests: new Counter({
      name: "qgjob_http_requests_total",
      help: "HTTP requests received, by method and route pattern",
      labelNames: ["method", "route"] as const,
      registers,
    }),
  };
}

/** Jobs in, jobs out, and jobs sent back to the queue. */
function jobMetrics(registers: Registers) {
  return {
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
  };
}

/** What the scheduler decided: the leases it granted and the installs they cost. */
function leaseMetrics(registers: Registers) {
  return {
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
  };
}

/** What devices reported doing, as opposed to what the scheduler expected of them. */
function deviceMetrics(registers: Registers) {
  return {
    deviceInstalls: new Counter({
      name: "qgjob_device_installs_total",
      help: "App installs devices reported doing (agents owning their device session), by target",
      labelNames: ["target"] as const,
      registers,
    }),
    deviceSessions: new Counter({
      name: "qgjob_device_sessions_total",
      help: "Appium sessions devices reported opening, by target",
      labelNames: ["target"] as const,
      registers,
    }),
    deviceSetup: new Histogram({
      name: "qgjob_device_setup_seconds",
      help: "Per lease, time a device spent on setup: installing the build (step=install, leases that installed) and opening its sessions (step=session)",
      labelNames: ["step"] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers,
    }),
  };
}

function blobMetrics(registers: Registers, store: Store) {
  // One count per scrape for both blob gauges, not one each.
  let counted: { at: number; value: Promise<{ blobs: number; bytes: number }> } | null = null;
  const usage = () => {
    if (!counted || Date.now() - counted.at > 1000) {
      counted = { at: Date.now(), value: store.blobUsage() };
    }
    return counted.value;
  };
  return {
    blobsRemoved: new Counter({
      name: "qgjob_blobs_removed_total",
      help: "Blobs removed by retention (no run used them for QGJOB_RETENTION_DAYS)",
      registers,
    }),
    blobBytes: new Gauge({
      name: "qgjob_blob_bytes",
      help: "Bytes of the blobs held (bundles, builds, evidence), each stored once",
      registers,
      async collect() {
        this.set((await usage()).bytes);
      },
    }),
    blobsStored: new Gauge({
      name: "qgjob_blobs_stored",
      help: "Distinct blobs held",
      registers,
      async collect() {
        this.set((await usage()).blobs);
      },
    }),
  };
}

/** The queue and the fleet as the store holds them, read at each scrape. */
function stateGauges(registers: Registers, store: Store) {
  return {
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
    drainedAgents: new Gauge({
      name: "qgjob_agents_drained",
      help: "Agents drained for their infrastructure errors (QGJOB_DRAIN_ERRORS), by target: they take no work until undrained",
      labelNames: ["target"] as const,
      registers,
      async collect() {
        const agents = await store.listAgents({ orgId: null }, Date.now());
        for (const target of TARGETS) {
          this.set(
            { target },
            agents.filter((a) => a.target === target && a.drainedAt !== null).length,
          );
        }
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

/** The blob store's volume, so an alert fires before uploads fail with a full disk. */
function volumeGauges(registry: Registry, space: () => Promise<{ free: number; size: number }>) {
  // One statfs per scrape for both gauges.
  let read: { at: number; value: Promise<{ free: number; size: number }> } | null = null;
  const current = () => {
    if (!read || Date.now() - read.at > 1000) read = { at: Date.now(), value: space() };
    return read.value;
  };
  new Gauge({
    name: "qgjob_blob_disk_free_bytes",
    help: "Free bytes on the blob store's volume (disk engine), as the server may use them",
    registers: [registry],
    async collect() {
      this.set((await current()).free);
    },
  });
  new Gauge({
    name: "qgjob_blob_disk_size_bytes",
    help: "Size in bytes of the blob store's volume (disk engine)",
    registers: [registry],
    async collect() {
      this.set((await current()).size);
    },
  });
}
