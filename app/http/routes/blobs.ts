/**
 * Content-addressed blobs: PUT streams a body in (verified against its hash on arrival), HEAD
 * and GET read it back (GET with one byte range). Bodies are never parsed or buffered.
 */
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { Blob, BlobParams, BlobUploadQuery } from "../../../api/blobs.js";
import { ErrorBody } from "../../../api/schemas.js";
import { QgjobError } from "../../errors.js";
import type { BlobRecord } from "../../store/store.js";
import { parseRange } from "../../blobs/service.js";
import { requireOrg } from "../../runs.js";
import type { Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

const READ_SCOPES = ["read", "agent", "submit"] as const;

const present = (b: BlobRecord): Blob => ({ sha256: b.sha256, size: b.size, kind: b.kind });

export function blobRoutes(app: FastifyInstance, deps: RouteDeps) {
  /**
   * Readers: people and tools (`read`), agents fetching bundles and builds (`agent`), and
   * submitters asking whether their org holds a hash before uploading it (`submit`).
   */
  async function reader(req: FastifyRequest): Promise<Caller> {
    const [first, ...rest] = READ_SCOPES;
    try {
      return await deps.auth.caller(req, first);
    } catch (err) {
      if (!(err instanceof QgjobError && err.code === "forbidden")) throw err;
      for (const scope of rest) {
        const caller = await deps.auth.caller(req, scope).catch(() => null);
        if (caller) return caller;
      }
      throw new QgjobError("forbidden", `this token lacks the 'read', 'agent' or 'submit' scope`);
    }
  }

  // Its own scope, so the pass-through parser applies to these routes only.
  void app.register(async (scope) => {
    scope.addContentTypeParser("application/octet-stream", (_req, payload, done) =>
      done(null, payload),
    );
    const r = scope.withTypeProvider<ZodTypeProvider>();

    r.put(
      "/api/v1/blobs/:sha256",
      {
        config: { scope: "submit" },
        schema: {
          summary: "Upload a blob (a test bundle, an app build, evidence) named by its SHA-256",
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
        requireOrg(req.caller, req.query.org_id);
        const length = req.headers["content-length"];
        const body = req.body as Readable | undefined;
        if (!body) {
          throw new QgjobError(
            "unsupported_media_type",
            "send the blob as an application/octet-stream body",
          );
        }
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

  const r = app.withTypeProvider<ZodTypeProvider>();

  r.head(
    "/api/v1/blobs/:sha256",
    {
      schema: {
        summary: "Whether a blob exists for the caller, and its size",
        params: BlobParams,
      },
    },
    async (req, reply) => {
      const blob = await deps.blobs.find(req.params.sha256, await reader(req));
      return reply
        .header("content-length", blob.size)
        .header("content-type", "application/octet-stream")
        .header("accept-ranges", "bytes")
        .header("x-qgjob-blob-kind", blob.kind)
        .code(200)
        .send();
    },
  );

  r.get(
    "/api/v1/blobs/:sha256",
    {
      // HEAD has its own route above.
      exposeHeadRoute: false,
      schema: {
        summary: "Download a blob; one byte range with Range: bytes=a-b",
        params: BlobParams,
        response: { ...errors, 416: ErrorBody },
      },
    },
    async (req, reply) => {
      const blob = await deps.blobs.find(req.params.sha256, await reader(req));
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
