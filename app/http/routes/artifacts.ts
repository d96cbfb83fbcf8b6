/**
 * A job's evidence: GET /api/v1/jobs/{id}/artifacts (per attempt) and the download route, which
 * streams with the artifact's content type, Content-Disposition and range requests (video
 * seeking). Both take an API token with the read scope, or a signed link's `sig` for that job
 * (check runs and Action summaries link with one); another org's job is a 404 either way.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { ArtifactParams, JobArtifacts, SignedQuery } from "../../../api/artifacts.js";
import { ErrorBody, IdParams } from "../../../api/schemas.js";
import { disposition, findArtifact, listEvidence } from "../../evidence/evidence.js";
import { evidenceExpiry } from "../../evidence/share.js";
import { parseRange } from "../../blobs/service.js";
import { downloadResponses } from "./blobs.js";
import { notFound } from "../../errors.js";
import type { JobRecord } from "../../store/store.js";
import type { RouteDeps } from "../deps.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** The job, for a signed link to it or for a caller with the read scope who may see it. */
async function jobFor(
  deps: RouteDeps,
  req: FastifyRequest,
  id: string,
  sig: string | undefined,
): Promise<JobRecord> {
  let scope: { orgId: string | null };
  if (sig !== undefined) {
    deps.links.verify(id, sig, deps.clock());
    scope = { orgId: null };
  } else {
    scope = await deps.auth.caller(req, "read");
  }
  const job = await deps.store.getJob(id, scope);
  if (!job) throw notFound("job", id);
  return job;
}

export function artifactRoutes(app: FastifyInstance, deps: RouteDeps) {
  artifactListRoute(app, deps);
  artifactDownloadRoute(app, deps);
}

function artifactListRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/api/v1/jobs/:id/artifacts",
    {
      schema: {
        summary: "A job's evidence, per attempt (token, or a signed link's sig)",
        operationId: "listJobArtifacts",
        tags: ["jobs"],
        params: IdParams,
        querystring: SignedQuery,
        response: { 200: JobArtifacts, ...errors },
      },
    },
    async (req) => {
      const { sig, share } = req.query;
      const job = await jobFor(deps, req, req.params.id, sig);
      const retentionMs = deps.retentionMs;
      const signed =
        share === "true" && sig === undefined
          ? deps.links.sign(job.id, evidenceExpiry(job.finishedAt ?? deps.clock(), retentionMs))
          : sig;
      return listEvidence(deps.store, deps.blobs, job, { sig: signed, retentionMs });
    },
  );
}

function artifactDownloadRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/api/v1/jobs/:id/attempts/:attempt/artifacts/:index",
    {
      schema: {
        summary: "Download one artifact (streamed; Range supported)",
        operationId: "downloadArtifact",
        tags: ["jobs"],
        params: ArtifactParams,
        querystring: SignedQuery,
        response: { ...downloadResponses, ...errors, 416: ErrorBody },
      },
    },
    async (req, reply) => {
      const { id, attempt, index } = req.params;
      const job = await jobFor(deps, req, id, req.query.sig);
      const { artifact, blob } = await findArtifact(deps.store, deps.blobs, job, attempt, index);
      const type = artifact.content_type ?? "application/octet-stream";
      let range;
      try {
        range = parseRange(req.headers.range, blob.size);
      } catch (err) {
        reply.header("content-range", `bytes */${blob.size}`);
        throw err;
      }
      reply
        .header("content-type", type)
        .header("content-disposition", disposition(artifact.name, type))
        .header("accept-ranges", "bytes")
        .header("cache-control", "private, max-age=3600")
        .header("x-content-type-options", "nosniff");
      if (range) {
        reply
          .code(206)
          .header("content-range", `bytes ${range.start}-${range.end}/${blob.size}`)
          .header("content-length", String(range.end - range.start + 1));
      } else {
        reply.header("content-length", String(blob.size));
      }
      // A stream is sent as it is, past the response schemas (which describe the errors).
      return (reply as FastifyReply).send(await deps.blobs.open(blob, range ?? undefined));
    },
  );
}
