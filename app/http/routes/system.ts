/** Health, metrics, the OpenAPI document and the queue overview. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { ErrorBody, QueueOverview } from "../../../api/schemas.js";
import { QgjobError } from "../../errors.js";
import type { RouteDeps } from "../deps.js";
import { presentQueue } from "../../present.js";

export function systemRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;

  r.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));

  r.get("/readyz", { schema: { hide: true } }, async (_req, reply) => {
    try {
      await store.ping();
      return { status: "ready", engine: store.engine };
    } catch (err) {
      return reply
        .code(503)
        .send({ error: { code: "unavailable", message: `database: ${(err as Error).message}` } });
    }
  });

  // The metrics cover every org (queue depth per target, outcomes): a fleet token's business.
  r.get(
    "/metrics",
    { schema: { hide: true }, config: deps.metricsPublic ? {} : { scope: "read" } },
    async (req, reply) => {
      if (!deps.metricsPublic && req.caller.orgId !== null) {
        throw new QgjobError(
          "forbidden",
          "/metrics covers every org: scrape it with a fleet token (or set QGJOB_METRICS_PUBLIC=1)",
        );
      }
      reply.header("content-type", deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );

  r.get("/api/v1/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  r.get(
    "/api/v1/queue",
    {
      config: { scope: "read" },
      schema: {
        summary: "Queued groups and per-target counts",
        operationId: "getQueue",
        tags: ["overview"],
        response: { 200: QueueOverview, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async (req) => {
      const caller = req.caller;
      const now = clock();
      return presentQueue(await store.queueOverview(caller, now), now);
    },
  );
}
