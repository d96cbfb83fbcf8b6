/**
 * Content-addressed blobs: PUT streams a body in (verified against its hash on arrival), HEAD
 * and GET read it back (GET with one byte range). Bodies are never parsed or buffered.
 */
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { Blob, BlobParams, BlobUploadQuery, type BlobKind } from "../../../api/blobs.js";
import { ErrorBody } from "../../../api/schemas.js";
import { QgjobError } from "../../errors.js";
import type { BlobRecord } from "../../store/store.js";
import { parseRange } from "../../blobs/service.js";
import { allows, type Caller } from "../auth.js";
import { requireOrg } from "../../runs.js";
import type { RouteDeps } from "../deps.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

// For the OpenAPI document: a download answers bytes, which Fastify streams unserialised.
const bytes = { "application/octet-stream": { schema: z.string() } };
export const downloadResponses = {
  200: { description: "The whole content", content: bytes },
  206: { description: "The byte range asked for with Range", content: bytes },
};

/**
 * Readers: people and tools (`read`), agents fetching bundles and builds (`agent`), and
 * submitters asking whether their org holds a hash before uploading it (`submit`).
 */
const READ_SCOPES = ["read", "agent", "submit"] as const;
/** Writers: submitters (bundles, builds) and agents (their attempts' evidence). */
const WRITE_SCOPES = ["submit", "agent"] as const;
/** What an agent may upload: evidence, never a test bundle or an app build. */
const AGENT_KINDS: readonly BlobKind[] = ["artifact", "log"];

const present = (b: BlobRecord): Blob => ({ sha256: b.sha256, size: b.size, kind: b.kind });

/** An upload's body, once the caller may store this kind of blob for the org. */
function uploadBody(caller: Caller, orgId: string, kind: BlobKind, body: unknown): Readable {
  requireOrg(caller, orgId);
  if (!allows(caller, "submit") && !AGENT_KINDS.includes(kind)) {
    throw new QgjobError("forbidden", `an agent token may upload evidence, not a ${kind}`);
  }
  if (!body) {
    throw new QgjobError(
      "unsupported_media_type",
      "send the blob as an application/octet-stream body",
    );
  }
  return body as Readable;
}

export function blobRoutes(app: FastifyInstance, deps: RouteDeps) {
  blobUploadRoute(app, deps);
  blobHeadRoute(app, deps);
  blobDownloadRoute(app, deps);
}

function blobUploadRoute(app: FastifyInstance, deps: RouteDeps) {
  // Its own scope, so the pass-through parser applies to these routes only.
  void app.register(async (scope) => {
    scope.addContentTypeParser("application/octet-stream", (_req, payload, done) =>
      done(null, payload),
    );
    const r = scope.withTypeProvider<ZodTypeProvider>();

    r.put(
      "/api/v1/blobs/:sha256",
      {
        config: { scope: WRITE_SCOPES },
        schema: {
          summary: "Upload a blob (a test bundle, an app build, evidence) named by its SHA-256",
          operationId: "uploadBlob",
          description:
            "Streams the body (application/octet-stream). When the org already holds the hash it " +
            "answers 200 at once without reading the body. Otherwise the bytes are checked " +
            "against the hash on arrival: a mismatch is 422 hash_mismatch and more than " +
            "QGJOB_BLOB_MAX_BYTES is 413 payload_too_large, and neither stores anything.",
          params: BlobParams,
          querystring: BlobUploadQuery,
          response: {
            200: Blob,
            201: Blob,
            ...errors,
            413: ErrorBody,
            415: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (req, reply) => {
        const body = uploadBody(req.caller, req.query.org_id, req.query.kind, req.body);
        const length = req.headers["content-length"];
        const { blob, fresh } = await deps.blobs.upload(
          {
            orgId: req.query.org_id,
            sha256: req.params.sha256,
            kind: req.query.kind,
            declaredBytes: length === undefined ? undefined : Number(length),
            body,
          },
          deps.clock(),
        );
        return reply.code(fresh ? 201 : 200).send(present(blob));
      },
    );
  });
}

function blobHeadRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.head(
    "/api/v1/blobs/:sha256",
    {
      schema: {
        summary: "Whether a blob exists for the caller, and its size",
        operationId: "headBlob",
        params: BlobParams,
      },
    },
    async (req, reply) => {
      const blob = await deps.blobs.find(
        req.params.sha256,
        await deps.auth.caller(req, READ_SCOPES),
      );
      return reply
        .header("content-length", blob.size)
        .header("content-type", "application/octet-stream")
        .header("accept-ranges", "bytes")
        .header("x-qgjob-blob-kind", blob.kind)
        .code(200)
        .send();
    },
  );
}

function blobDownloadRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    "/api/v1/blobs/:sha256",
    {
      // HEAD has its own route above.
      exposeHeadRoute: false,
      schema: {
        summary: "Download a blob; one byte range with Range: bytes=a-b",
        operationId: "downloadBlob",
        params: BlobParams,
        response: { ...downloadResponses, ...errors, 416: ErrorBody },
      },
    },
    async (req, reply) => {
      const blob = await deps.blobs.find(
        req.params.sha256,
        await deps.auth.caller(req, READ_SCOPES),
      );
      let range;
      try {
        range = parseRange(req.headers.range, blob.size);
      } catch (err) {
        reply.header("content-range", `bytes */${blob.size}`);
        throw err;
      }
      const body = await deps.blobs.open(blob, range ?? undefined);
      reply
        .header("content-type", "application/octet-stream")
        .header("accept-ranges", "bytes")
        .header("etag", `"${blob.sha256}"`)
        .header("cache-control", "private, max-age=31536000, immutable");
      if (range) {
        reply
          .code(206)
          .header("content-range", `bytes ${range.start}-${range.end}/${blob.size}`)
          .header("content-length", range.end - range.start + 1);
      } else {
        reply.code(200).header("content-length", blob.size);
      }
      // A stream is sent as it is, past the response schemas (which describe the errors).
      return (reply as FastifyReply).send(body);
    },
  );
}
