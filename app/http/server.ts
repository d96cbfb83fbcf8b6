/** The Fastify instance: validation and serialisation from the zod schemas, routes, errors. */
import type { Duplex } from "node:stream";
import fastifySwagger from "@fastify/swagger";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { LiveLogs } from "../live-logs.js";
import { installAuth } from "./auth.js";
import { dashboardRoutes } from "./dashboard/routes.js";
import type { RouteDeps } from "./deps.js";
import { CLOSING_OPTIONS, installClosingGuard } from "./closing.js";
import { installConnectionLimits, type ConnectionLimits } from "./connections.js";
import { installErrorHandlers } from "./errors.js";
import { installJsonBody } from "./json-body.js";
import { installRateLimit, TokenBuckets, type RateLimit } from "./rate-limit.js";
import { RunHub } from "./run-hub.js";
import { agentRoutes } from "./routes/agents.js";
import { artifactRoutes } from "./routes/artifacts.js";
import { blobRoutes } from "./routes/blobs.js";
import { COMPAT_TAG, compatRoutes } from "./routes/compat.js";
import { eventRoutes } from "./routes/events.js";
import { logRoutes } from "./routes/logs.js";
import { runRoutes } from "./routes/runs.js";
import { testRoutes } from "./routes/tests.js";
import { systemRoutes } from "./routes/system.js";
import { tokenRoutes } from "./routes/tokens.js";
import { traceViewerRoutes } from "./routes/trace-viewer.js";

export interface HttpOptions {
  logger: Logger;
  bodyLimitBytes: number;
  /** Receiving one request (headers and body) may take this long (ms). */
  requestTimeoutMs: number;
  connections: ConnectionLimits;
  rateLimit: RateLimit;
  /** See SseStream: how long an event-stream client may leave its backlog unread. */
  sseStallMs?: number;
  version: string;
  /** Believe X-Forwarded-* (a reverse proxy in front); otherwise any client could claim a host. */
  trustProxy: boolean;
}

export async function buildHttp(deps: RouteDeps, opts: HttpOptions): Promise<FastifyInstance> {
  const app = createFastify(opts);
  installConnectionLimits(app.server, opts.connections);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  installClosingGuard(app);
  installJsonBody(app);
  installAuth(app, deps.auth);
  installRateLimit(app, new TokenBuckets(opts.rateLimit), deps.clock);
  // A POST with no body at all means "no options" (heartbeats, lease requests, release).
  app.addHook("preValidation", async (req) => {
    if (req.method === "POST" && req.body == null && !req.headers["content-type"]) req.body = {};
  });
  await registerOpenApi(app, opts.version);
  installRequestMetrics(app, deps);
  registerRoutes(app, deps, opts);
  return app;
}

function createFastify(opts: HttpOptions): FastifyInstance {
  return Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes,
    requestTimeout: opts.requestTimeoutMs,
    trustProxy: opts.trustProxy,
    ...CLOSING_OPTIONS,
    // One line per request is noise at agent polling rates; failures are logged on their own.
    logController: new LogController({ disableRequestLogging: true }),
    // Keep the Authorization header out of anything Fastify might log.
    requestIdHeader: "x-request-id",
    // Errors raised before routing (a malformed URL, an over-long id) keep the error format too.
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply)
        .code(err.statusCode ?? 400)
        .send({ error: { code: "invalid_request", message: err.message } });
    },
    clientErrorHandler: answerClientError,
  });
}

/** Node's HTTP parser refuses some requests (huge headers) before Fastify sees them. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex) {
  const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
  const body = JSON.stringify({ error: { code: "invalid_request", message: err.message } });
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  } else {
    socket.destroy(err);
  }
}

async function registerOpenApi(app: FastifyInstance, version: string) {
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "qgjob",
        version,
        description: "Queue and schedule AppWright test jobs.",
        license: { name: "MIT", url: "https://spdx.org/licenses/MIT.html" },
      },
      // Relative to where the document is served, so it stays right behind any proxy or host name.
      servers: [{ url: "/", description: "The server that serves this document" }],
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
      security: [{ bearer: [] }],
      tags: [COMPAT_TAG],
    },
    transform: jsonSchemaTransform,
  });
}

function installRequestMetrics(app: FastifyInstance, deps: RouteDeps) {
  // On arrival: event streams are hijacked and never reach onResponse.
  app.addHook("onRequest", async (req) => {
    deps.metrics.httpRequests.inc({ method: req.method, route: req.routeOptions.url ?? "none" });
  });
  app.addHook("onResponse", async (req, reply) => {
    if (reply.statusCode >= 500)
      req.log.warn({ url: req.url, status: reply.statusCode }, "request failed");
  });
}

function registerRoutes(app: FastifyInstance, deps: RouteDeps, opts: HttpOptions) {
  runRoutes(app, deps);
  testRoutes(app, deps);
  agentRoutes(app, deps);
  const streams = {
    hub: new RunHub(deps.store, deps.clock, deps.shutdown),
    logs: new LiveLogs(deps.store.relay),
    stallMs: opts.sseStallMs ?? 30_000,
  };
  app.addHook("onClose", async () => streams.logs.close());
  eventRoutes(app, deps, streams.hub, streams.stallMs);
  logRoutes(app, deps, streams.logs, streams.stallMs);
  blobRoutes(app, deps);
  artifactRoutes(app, deps);
  traceViewerRoutes(app);
  systemRoutes(app, deps);
  tokenRoutes(app, deps);
  dashboardRoutes(app, deps, streams);
  compatRoutes(app, deps);
}
