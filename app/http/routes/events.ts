/**
 * Server-sent event streams: a run's job changes for watchers (CLI, Action, dashboard), and a
 * lease's cancels and revocation for the agent holding it. Both sleep on the change feed, which
 * on Postgres carries every replica's changes, so the replica a request lands on does not matter.
 */
import { setMaxListeners } from "node:events";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorBody, IdParams, LeaseParams } from "../../../api/schemas.js";
import { notFound } from "../../errors.js";
import { isServerEnded } from "../../../api/status.js";
import type { LeaseRecord } from "../../store/store.js";
import type { RouteDeps } from "../deps.js";
import type { RunHub } from "../run-hub.js";
import { SseStream } from "../sse.js";
import { waitAny } from "../wake.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
/** A lease's stream re-reads at least this often, in case a wake-up was lost. */
const LEASE_RECHECK_MS = 2000;

export const EventHeaders = z.object({
  "last-event-id": z
    .string()
    .regex(/^\d{1,15}$/, "an event id this server sent")
    .optional(),
});

/** Why the agent must stop everything: the lease is no longer its to work on. */
function revoked(lease: LeaseRecord | null, now: number): string | null {
  if (!lease) return "unknown lease";
  if (lease.endedAt !== null) return lease.endReason === "completed" ? null : lease.endReason;
  return lease.expiresAt <= now ? "expired" : null;
}

export function eventRoutes(app: FastifyInstance, deps: RouteDeps, hub: RunHub, stallMs: number) {
  // Every open stream listens for the server's shutdown.
  setMaxListeners(0, deps.shutdown);
  runEventsRoute(app, deps, hub, stallMs);
  leaseEventsRoute(app, deps, stallMs);
}

function runEventsRoute(app: FastifyInstance, deps: RouteDeps, hub: RunHub, stallMs: number) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/api/v1/runs/:id/events",
    {
      config: { scope: "read" },
      schema: {
        summary: "Follow a run: server-sent events of its job changes, until it finishes",
        operationId: "followRunEvents",
        description:
          "Events: `snapshot` (the run with its jobs, first), `job` (one job that changed), " +
          "`run` (the run's counts after a batch of job events; carries the event id), " +
          "`end` (the run finished; the stream closes). Reconnect with `Last-Event-ID` to " +
          "hear only what changed since.",
        tags: ["runs"],
        params: IdParams,
        headers: EventHeaders,
        response: { 200: z.string(), ...errors },
      },
    },
    async (req, reply) => {
      const last = req.headers["last-event-id"];
      const opened = await openRunEvents(hub, deps, stallMs, reply, {
        runId: req.params.id,
        caller: req.caller,
        lastEventId: last === undefined ? null : Number(last),
      });
      if (!opened) throw notFound("run", req.params.id);
    },
  );
}

function leaseEventsRoute(app: FastifyInstance, deps: RouteDeps, stallMs: number) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;

  r.get(
    "/api/v1/leases/:lease_id/events",
    {
      config: { scope: "agent" },
      schema: {
        summary: "The agent's push channel: cancels of its jobs and revocation of its lease",
        operationId: "followLeaseEvents",
        description:
          "Events: `cancel` (`job_ids` ended on the server: stop them now), `revoked` (the " +
          "lease is no longer the agent's: stop everything; the stream closes), `end` (the " +
          "lease completed). Heartbeats remain the liveness signal.",
        tags: ["leases"],
        params: LeaseParams,
        response: { 200: z.string(), ...errors },
      },
    },
    async (req, reply) => {
      const leaseId = req.params.lease_id;
      const lease = await store.getLease(leaseId);
      if (!lease || !(await store.getAgent(lease.agentId, req.caller, clock()))) {
        throw notFound("lease", leaseId);
      }
      reply.hijack();
      const stream = new SseStream(reply.raw, { shutdown: deps.shutdown, stallMs });
      void followLease(deps, leaseId, stream).catch((err: unknown) => {
        req.log.warn({ err, lease: leaseId }, "lease event stream failed");
        stream.close();
      });
    },
  );
}

/**
 * Streams a run's events into the response (the API route and the dashboard's); false, with
 * nothing sent, when the run does not exist for this caller.
 */
export async function openRunEvents(
  hub: RunHub,
  deps: Pick<RouteDeps, "shutdown">,
  stallMs: number,
  reply: FastifyReply,
  w: { runId: string; caller: { orgId: string | null }; lastEventId: number | null },
): Promise<boolean> {
  // The hub's reader answers who may watch: 500 watchers joining cost one read, not 500.
  const run = await hub.find(w.runId);
  if (!run || (w.caller.orgId !== null && run.org_id !== w.caller.orgId)) {
    hub.refused(w.runId);
    return false;
  }
  reply.hijack();
  const stream = new SseStream(reply.raw, { shutdown: deps.shutdown, stallMs });
  hub.watch(run.id, stream, w.lastEventId);
  return true;
}

async function followLease(deps: RouteDeps, leaseId: string, stream: SseStream) {
  const told = new Set<string>();
  while (!stream.closed) {
    const lease = await deps.store.getLease(leaseId);
    const jobs = await deps.store.jobsOfLeases([leaseId], { orgId: null });
    const cancel = jobs
      .filter((j) => j.leaseId === leaseId && isServerEnded(j.status) && !told.has(j.id))
      .map((j) => j.id);
    if (cancel.length > 0) {
      stream.send("cancel", { job_ids: cancel });
      for (const id of cancel) told.add(id);
    }
    const reason = revoked(lease, deps.clock());
    if (reason !== null) {
      stream.send("revoked", { reason });
      return stream.close();
    }
    if (lease?.endedAt != null) {
      stream.send("end", {});
      return stream.close();
    }
    const runs = new Set(jobs.map((j) => `run:${j.runId}`));
    await waitAny(deps.store.changes, runs, LEASE_RECHECK_MS, stream.signal);
  }
}
