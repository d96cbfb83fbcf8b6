/**
 * The seed design's routes, kept so that clients written against it work: thin aliases of
 * POST /api/v1/jobs and GET /api/v1/jobs/{id}, with their auth, errors and idempotency. Their
 * answers are the v1 job, which also names its id `job_id` as the seed's clients read it.
 */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  ErrorBody,
  IdempotencyHeaders,
  Job,
  ResourceId,
  SubmitJobRequest,
} from "../../../api/schemas.js";
import type { RouteDeps } from "../deps.js";
import { errors, readJob, submitJob } from "./runs.js";

/** Only the server speaks these routes; the typed client and the CLI use /api/v1. */
const CompatJob = Job.extend({ job_id: z.string() });
const JobIdParams = z.strictObject({ job_id: ResourceId });

const withJobId = (job: Job) => ({ job_id: job.id, ...job });

export const COMPAT_TAG = {
  name: "compatibility",
  description:
    "Routes of the seed design, kept for its clients: aliases of /api/v1 routes with the same auth and errors. New clients should use /api/v1.",
};

export function compatRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/submit-job",
    {
      config: { scope: "submit" },
      schema: {
        summary: "Submit one test (compatibility route: alias of POST /api/v1/jobs)",
        operationId: "submitJobCompat",
        tags: [COMPAT_TAG.name],
        headers: IdempotencyHeaders,
        body: SubmitJobRequest,
        response: { 201: CompatJob, ...errors, 422: ErrorBody },
      },
    },
    async (req, reply) => {
      const out = await submitJob(deps, req.caller, req.body, req.headers["idempotency-key"]);
      if (out.replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send(withJobId(out.job));
    },
  );

  r.get(
    "/status/:job_id",
    {
      config: { scope: "read" },
      schema: {
        summary: "Get a job (compatibility route: alias of GET /api/v1/jobs/{id})",
        operationId: "getJobStatusCompat",
        tags: [COMPAT_TAG.name],
        params: JobIdParams,
        response: { 200: CompatJob, ...errors },
      },
    },
    async (req) => withJobId(await readJob(deps, req.caller, req.params.job_id)),
  );
}
