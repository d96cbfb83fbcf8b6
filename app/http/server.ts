/** The Fastify instance: validation and serialisation from the zod schemas, routes, errors. */
import fastifySwagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import type { Logger } from "pino";
import type { RouteDeps } from "./deps.js";
import { installErrorHandlers } from "./errors.js";
import { agentRoutes } from "./routes/agents.js";
import { runRoutes } from "./routes/runs.js";
import { systemRoutes } from "./routes/system.js";

export interface HttpOptions {
  logger: Logger;
  bodyLimitBytes: number;
  version: string;
}

export async function buildHttp(deps: RouteDeps, opts: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes,
    // One line per request is noise at agent polling rates; failures are logged on their own.
    logController: new LogController({ disableRequestLogging: true }),
    // Keep the Authorization header out of anything Fastify might log.
    requestIdHeader: "x-request-id",
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "qgjob",
        version: opts.version,
        description: "Queue and schedule AppWright test jobs.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.addHook("onResponse", async (req, reply) => {
    if (reply.statusCode >= 500)
      req.log.warn({ url: req.url, status: reply.statusCode }, "request failed");
  });

  runRoutes(app, deps);
  agentRoutes(app, deps);
  systemRoutes(app, deps);
  return app;
}
