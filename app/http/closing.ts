/**
 * While the server closes, clients can still get in (the listening socket closes after the close
 * hooks). Fastify would answer them with a 503 body of its own; this answers 503 `unavailable`
 * in the error format, with Retry-After, which the API client retries.
 */
import type { FastifyInstance } from "fastify";
import { QgjobError } from "../errors.js";

export const CLOSING_OPTIONS = { return503OnClosing: false } as const;

export function installClosingGuard(app: FastifyInstance) {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (_req, reply) => {
    if (!closing) return;
    reply.header("retry-after", "1").header("connection", "close");
    throw new QgjobError("unavailable", "the server is shutting down: retry shortly");
  });
}
