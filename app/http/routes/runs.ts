/** Submitting, reading, cancelling and waiting on runs and jobs. */
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
  RunJobsQuery,
  RunWaitQuery,
  RunWithJobs,
  SubmitJobRequest,
  SubmitRunRequest,
  WaitQuery,
  type SubmitJobInput,
} from "../../../api/schemas.js";
import { notFound } from "../../errors.js";
import { isRunOpen, isTerminal } from "../../../api/status.js";
import { runStatus } from "../../store/rules.js";
import type { Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { longPoll } from "../long-poll.js";
import { presentJob, presentRun, presentRunPage, presentRunSummary } from "../../present.js";

export const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** One test as a run of one job: POST /api/v1/jobs, and the seed's POST /submit-job. */
export async function submitJob(
  deps: RouteDeps,
  caller: Caller,
  body: SubmitJobInput,
  key: string | undefined,
): Promise<{ job: Job; replayed: boolean }> {
  const { test_path, ...rest } = body;
  const out = await deps.runs.submit(caller, { ...rest, tests: [test_path] }, key);
  return { job: presentJob(out.jobs[0]!), replayed: out.replayed };
}

/** A job the caller may see, else 404: GET /api/v1/jobs/{id}, and the seed's GET /status/{job_id}. */
export async function readJob(deps: RouteDeps, caller: Caller, id: string): Promise<Job> {
  const job = await deps.store.getJob(id, caller);
  if (!job) throw notFound("job", id);
  return presentJob(job);
}

export function runRoutes(app: FastifyInstance, deps: RouteDeps) {
  submitRoutes(app, deps);
  runReadRoutes(app, deps);
  runWaitRoute(app, deps);
  runActionRoutes(app, deps);
  jobReadRoutes(app, deps);
  jobWaitAndCancelRoutes(app, deps);
}

function submitRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/api/v1/runs",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Submit a run of one or more tests",
        operationId: "submitRun",
        tags: ["runs"],
        headers: IdempotencyHeaders,
        body: SubmitRunRequest,
        response: { 201: RunWithJobs, ...errors, 422: ErrorBody },
      },
    },
    async (req, reply) => {
      const caller = req.caller;
      const out = await deps.runs.submit(caller, req.body, req.headers["idempotency-key"]);
      if (out.replayed) reply.header("idempotent-replayed", "true");
      const run = presentRunSummary({ ...out.run, jobs: out.jobs });
      if (req.body.supersede) run.superseded_runs = out.superseded;
      return reply.code(201).send(run);
    },
  );

  r.post(
    "/api/v1/jobs",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Submit one test (a run of one job)",
        operationId: "submitJob",
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
}

function runReadRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = deps;

  r.get(
    "/api/v1/runs",
    {
      config: { scope: "read" },
      schema: {
        summary: "List runs, newest first",
        operationId: "listRuns",
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
        summary:
          "Get a run with a page of its jobs (results summarised: the job view has them whole)",
        operationId: "getRun",
        tags: ["runs"],
        params: IdParams,
        querystring: RunJobsQuery,
        response: { 200: RunWithJobs, ...errors },
      },
    },
    async (req) => {
      const { jobs_limit, jobs_cursor } = req.query;
      const run = await store.getRunPage(req.params.id, req.caller, {
        limit: jobs_limit,
        cursor: jobs_cursor,
      });
      if (!run) throw notFound("run", req.params.id);
      return presentRunPage(run);
    },
  );
}

function runWaitRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = deps;

  r.get(
    "/api/v1/runs/:id/wait",
    {
      config: { scope: "read" },
      schema: {
        summary:
          "Long-poll until the run ends or timeout_s passes; answers the run (a page of its jobs) either way",
        operationId: "waitForRun",
        tags: ["runs"],
        params: IdParams,
        querystring: RunWaitQuery,
        response: { 200: RunWithJobs, ...errors },
      },
    },
    async (req, reply) => {
      const caller = req.caller;
      const { id } = req.params;
      // Each wake-up re-reads the counts only; the jobs are read once, for the answer.
      await longPoll(
        deps,
        reply.raw,
        req.query.timeout_s * 1000,
        async () => {
          const run = await store.getRunView(id, caller);
          if (!run) throw notFound("run", id);
          return run;
        },
        (run) => !isRunOpen(runStatus(run.counts)),
        (run) => `run:${run.id}`,
        () => deps.auth.recheck(req),
      );
      const { jobs_limit, jobs_cursor } = req.query;
      const run = await store.getRunPage(id, caller, {
        limit: jobs_limit,
        cursor: jobs_cursor,
      });
      if (!run) throw notFound("run", id);
      return presentRunPage(run);
    },
  );
}

function runActionRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;

  r.post(
    "/api/v1/runs/:id/cancel",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Cancel every unfinished job of a run",
        operationId: "cancelRun",
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
        operationId: "rerunFailedJobs",
        tags: ["runs"],
        params: IdParams,
        body: RerunFailedRequest,
        response: { 200: RerunFailedResponse, ...errors },
      },
    },
    async (req) => {
      const out = await deps.runs.rerunFailed(req.caller, req.params.id, req.body);
      if (!out) throw notFound("run", req.params.id);
      return { ...presentRunSummary(out.run), rerun_job_ids: out.rerun.map((j) => j.id) };
    },
  );
}

function jobReadRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store } = deps;

  r.get(
    "/api/v1/jobs",
    {
      config: { scope: "read" },
      schema: {
        summary: "List jobs, newest first",
        operationId: "listJobs",
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
        operationId: "getJob",
        tags: ["jobs"],
        params: IdParams,
        response: { 200: Job, ...errors },
      },
    },
    async (req) => readJob(deps, req.caller, req.params.id),
  );
}

function jobWaitAndCancelRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;

  r.get(
    "/api/v1/jobs/:id/wait",
    {
      config: { scope: "read" },
      schema: {
        summary: "Long-poll until the job ends or timeout_s passes; answers the job either way",
        operationId: "waitForJob",
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
        () => deps.auth.recheck(req),
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
        operationId: "cancelJob",
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
