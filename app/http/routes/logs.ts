/**
 * Live logs: the agent posts a running test's output in chunks; watchers follow a job's output
 * as server-sent events until the job finishes (app/live-logs.ts keeps the chunks).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  LogChunksRequest,
  LogChunksResponse,
  LogEventId,
  logEventId,
  type LogEvent,
} from "../../../api/logs.js";
import { ErrorBody, IdParams, LeaseJobParams } from "../../../api/schemas.js";
import { isTerminal } from "../../../api/status.js";
import { notFound } from "../../errors.js";
import type { LiveLogs } from "../../live-logs.js";
import type { JobRecord } from "../../store/store.js";
import type { RouteDeps } from "../deps.js";
import { SseStream } from "../sse.js";
import { leaseOfCaller } from "./agents.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
/** The stream re-reads the job at least this often, in case a wake-up was lost. */
const RECHECK_MS = 2000;

export function logRoutes(app: FastifyInstance, deps: RouteDeps, logs: LiveLogs, stallMs: number) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = deps;

  r.post(
    "/api/v1/leases/:lease_id/jobs/:job_id/log",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Post a running test's output (numbered chunks of base64, at most 4 KiB each)",
        operationId: "postJobLog",
        tags: ["leases"],
        params: LeaseJobParams,
        body: LogChunksRequest,
        response: { 200: LogChunksResponse, ...errors },
      },
    },
    async (req) => {
      const { lease_id: leaseId, job_id: jobId } = req.params;
      await leaseOfCaller(deps, req, leaseId);
      const job = await store.getJob(jobId, { orgId: null });
      if (!job || job.leaseId !== leaseId) throw notFound("job", jobId);
      await logs.post(jobId, req.body);
      return { accepted: req.body.chunks.length };
    },
  );

  r.get(
    "/api/v1/jobs/:id/log/events",
    {
      config: { scope: "read" },
      schema: {
        summary: "Follow a job's output: server-sent events until the job finishes",
        operationId: "followJobLog",
        description:
          "Events: `log` (a chunk of output: attempt, seq, text, dropped_bytes; its id is " +
          "`<attempt>.<seq>`), `ready` (what the server held is sent; live chunks follow), " +
          "`end` (the job finished: its status; the stream closes). Reconnect with " +
          "`Last-Event-ID` to hear only later chunks. The server keeps the last 256 KiB of a " +
          "job's output; the whole log is the attempt's `output.log` artifact.",
        tags: ["jobs"],
        params: IdParams,
        headers: z.object({ "last-event-id": LogEventId.optional() }),
        response: { 200: z.string(), ...errors },
      },
    },
    async (req, reply) => {
      const opened = await openJobLog(deps, logs, stallMs, req, reply, {
        jobId: req.params.id,
        caller: req.caller,
        lastEventId: req.headers["last-event-id"] ?? null,
      });
      if (!opened) throw notFound("job", req.params.id);
    },
  );
}

/**
 * Streams a job's log into the response (the API route and the dashboard's); false, with
 * nothing sent, when the job does not exist for this caller.
 */
export async function openJobLog(
  deps: RouteDeps,
  logs: LiveLogs,
  stallMs: number,
  req: FastifyRequest,
  reply: FastifyReply,
  w: { jobId: string; caller: { orgId: string | null }; lastEventId: string | null },
): Promise<boolean> {
  const job = await deps.store.getJob(w.jobId, w.caller);
  if (!job) return false;
  reply.hijack();
  const stream = new SseStream(reply.raw, { shutdown: deps.shutdown, stallMs });
  const send = (e: LogEvent) => stream.send("log", e, logEventId(e.attempt, e.seq));
  // No await between the backlog and following: no chunk can fall in between.
  for (const e of logs.since(job.id, w.lastEventId)) send(e);
  const unfollow = logs.follow(job.id, send);
  stream.signal.addEventListener("abort", unfollow, { once: true });
  stream.send("ready", {});
  void untilFinished(deps, job, stream).catch((err: unknown) => {
    req.log.warn({ err, job: job.id }, "log event stream failed");
    stream.close();
  });
  return true;
}

/** Ends the stream with the job: chunks are posted before the result, so none comes after. */
async function untilFinished(deps: RouteDeps, job: JobRecord, stream: SseStream) {
  let current: JobRecord | null = job;
  while (!stream.closed && current) {
    if (isTerminal(current.status)) {
      stream.send("end", { status: current.status, attempt: current.attempts });
      return stream.close();
    }
    await deps.store.changes.wait(`run:${job.runId}`, RECHECK_MS, stream.signal);
    current = await deps.store.getJob(job.id, { orgId: null });
  }
  stream.close();
}
