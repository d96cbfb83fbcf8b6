/** Submitting, reading, cancelling and waiting on runs and jobs. */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import {
  ErrorBody,
  IdempotencyHeaders,
  IdParams,
  Job,
  ListJobsQuery,
  ListRunsQuery,
  Page,
  RerunFailedRequest,
  RerunFailedResponse,
  Run,
  RunWithJobs,
  SubmitJobRequest,
  SubmitRunRequest,
  WaitQuery,
  type SubmitJobInput,
  type SubmitRunInput,
} from "../../../api/schemas.js";
import { notFound } from "../../errors.js";
import { isRunOpen, isTerminal } from "../../../api/status.js";
import { runStatus } from "../../store/rules.js";
import { requireOrg, type Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { longPoll } from "../long-poll.js";
import { presentJob, presentRun } from "../../present.js";

export const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

async function submit(
  deps: RouteDeps,
  caller: Caller,
  input: SubmitRunInput,
  key: string | undefined,
) {
  requireOrg(caller, input.org_id);
  // Only a keyed submission is ever compared with an earlier one.
  const requestHash =
    key === undefined
      ? undefined
      : createHash("sha256").update(JSON.stringify(input)).digest("hex");
  const out = await deps.store.submitRun(input, { idempotencyKey: key, requestHash }, deps.clock());
  if (!out.replayed) deps.metrics.submitted.inc(out.jobs.length);
  return out;
}

/** One test as a run of one job: POST /api/v1/jobs, and the seed's POST /submit-job. */
export async function submitJob(
  deps: RouteDeps,
  caller: Caller,
  body: SubmitJobInput,
  key: string | undefined,
): Promise<{ job: Job; replayed: boolean }> {
  const { test_path, ...rest } = body;
  const out = await submit(deps, caller, { ...rest, tests: [test_path] }, key);
  return { job: presentJob(out.jobs[0]!), replayed: out.replayed };
}

/** A job the caller may see, else 404: GET /api/v1/jobs/{id}, and the seed's GET /status/{job_id}. */
export async function readJob(deps: RouteDeps, caller: Caller, id: string): Promise<Job> {
  const job = await deps.store.getJob(id, caller);
  if (!job) throw notFound("job", id);
  return presentJob(job);
}

export function runRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;

  r.post(
    "/api/v1/runs",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Submit a run of one or more tests",
        tags: ["runs"],
        headers: IdempotencyHeaders,
        body: SubmitRunRequest,
        response: { 201: RunWithJobs, ...errors, 422: ErrorBody },
      },
    },
    async (req, reply) => {
      const caller = req.caller;
      const out = await submit(deps, caller, req.body, req.headers["idempotency-key"]);
      if (out.replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send({ ...presentRun(out.run), jobs: out.jobs.map(presentJob) });
    },
  );

  r.post(
    "/api/v1/jobs",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Submit one test (a run of one job)",
        tags: ["jobs"],
        headers: IdempotencyHeaders,
        body: SubmitJobRequest,
        response: { 201: Job, ...errors, 422: ErrorBody },
      },
    },
    async (req, reply) => {
      const out = await submitJob(deps, req.caller, req.body, req.headers["idempotency-key"]);
      if (out.replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send(out.job);
    },
  );

  r.get(
    "/api/v1/runs",
    {
      config: { scope: "read" },
      schema: {
        summary: "List runs, newest first",
        tags: ["runs"],
        querystring: ListRunsQuery,
        response: { 200: Page(Run), ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const page = await store.listRuns(req.query, caller);
      return { items: page.items.map(presentRun), next_cursor: page.nextCursor };
    },
  );

  r.get(
    "/api/v1/runs/:id",
    {
      config: { scope: "read" },
      schema: {
        summary: "Get a run with its jobs",
        tags: ["runs"],
        params: IdParams,
        response: { 200: RunWithJobs, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const run = await store.getRun(req.params.id, caller);
      if (!run) throw notFound("run", req.params.id);
      return { ...presentRun(run), jobs: run.jobs.map(presentJob) };
    },
  );

  r.get(
    "/api/v1/runs/:id/wait",
    {
      config: { scope: "read" },
      schema: {
        summary: "Long-poll until the run ends or timeout_s passes; answers the run either way",
        tags: ["runs"],
        params: IdParams,
        querystring: WaitQuery,
        response: { 200: RunWithJobs, ...errors },
      },
    },
    async (req, reply) => {
      const caller = req.caller;
      const run = await longPoll(
        deps,
        reply.raw,
        req.query.timeout_s * 1000,
        async () => {
          const run = await store.getRun(req.params.id, caller);
          if (!run) throw notFound("run", req.params.id);
          return run;
        },
        (run) => !isRunOpen(runStatus(run.counts)),
        (run) => `run:${run.id}`,
      );
      return { ...presentRun(run), jobs: run.jobs.map(presentJob) };
    },
  );

  r.post(
    "/api/v1/runs/:id/cancel",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Cancel every unfinished job of a run",
        tags: ["runs"],
        params: IdParams,
        response: { 200: Run, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const run = await store.cancelRun(req.params.id, caller, clock());
      if (!run) throw notFound("run", req.params.id);
      return presentRun(run);
    },
  );

  r.post(
    "/api/v1/runs/:id/rerun-failed",
    {
      config: { scope: "submit" },
      schema: {
        summary:
          "Queue the run's failed, errored, timed-out and cancelled tests again (optionally of one target)",
        tags: ["runs"],
        params: IdParams,
        body: RerunFailedRequest,
        response: { 200: RerunFailedResponse, ...errors },
      },
    },
    async (req) => {
      const out = await store.rerunFailed(req.params.id, req.caller, req.body, clock());
      if (!out) throw notFound("run", req.params.id);
      if (out.rerun.length > 0) deps.metrics.submitted.inc(out.rerun.length);
      return {
        ...presentRun(out.run),
        jobs: out.run.jobs.map(presentJob),
        rerun_job_ids: out.rerun.map((j) => j.id),
      };
    },
  );

  r.get(
    "/api/v1/jobs",
    {
      config: { scope: "read" },
      schema: {
        summary: "List jobs, newest first",
        tags: ["jobs"],
        querystring: ListJobsQuery,
        response: { 200: Page(Job), ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const page = await store.listJobs(req.query, caller);
      return { items: page.items.map(presentJob), next_cursor: page.nextCursor };
    },
  );

  r.get(
    "/api/v1/jobs/:id",
    {
      config: { scope: "read" },
      schema: {
        summary: "Get a job",
        tags: ["jobs"],
        params: IdParams,
        response: { 200: Job, ...errors },
      },
    },
    async (req) => readJob(deps, req.caller, req.params.id),
  );

  r.get(
    "/api/v1/jobs/:id/wait",
    {
      config: { scope: "read" },
      schema: {
        summary: "Long-poll until the job ends or timeout_s passes; answers the job either way",
        tags: ["jobs"],
        params: IdParams,
        querystring: WaitQuery,
        response: { 200: Job, ...errors },
      },
    },
    async (req, reply) => {
      const caller = req.caller;
      const job = await longPoll(
        deps,
        reply.raw,
        req.query.timeout_s * 1000,
        async () => {
          const job = await store.getJob(req.params.id, caller);
          if (!job) throw notFound("job", req.params.id);
          return job;
        },
        (job) => isTerminal(job.status),
        (job) => `run:${job.runId}`,
      );
      return presentJob(job);
    },
  );

  r.post(
    "/api/v1/jobs/:id/cancel",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Cancel a job",
        tags: ["jobs"],
        params: IdParams,
        response: { 200: Job, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const job = await store.cancelJob(req.params.id, caller, clock());
      if (!job) throw notFound("job", req.params.id);
      return presentJob(job);
    },
  );
}
