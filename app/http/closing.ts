/**
 * While the server closes, clients can still get in (the listening socket closes after the close
 * hooks). Fastify would answer them with a 503 body of its own; this answers 503 `unavailable`
 * in the error format, with Retry-After, which the API client retries.
 *
 * A connection that has not sent a request yet would hold the close forever: Node counts it as
 * busy (closeIdleConnections leaves it open), and server.close() stops the headers timeout that
 * would otherwise end it. Node's fetch opens one such connection whenever a call in flight is
 * aborted, as an agent that stops during its long poll does. So closing ends them: those open
 * now at once, one that connects meanwhile if it stays silent for SILENT_MS.
 */
import type { FastifyInstance } from "fastify";
import type { Socket } from "node:net";
import { QgjobError } from "../errors.js";

export const CLOSING_OPTIONS = { return503OnClosing: false } as const;

/** How long a connection made during shutdown may take to send its request (and get a 503). */
const SILENT_MS = 1_000;

export function installClosingGuard(app: FastifyInstance) {
  let closing = false;
  const unused = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    unused.add(socket);
    socket.once("close", () => unused.delete(socket));
    // Node's own timeout handling destroys a socket whose timeout nobody else answers.
    if (closing) socket.setTimeout(SILENT_MS);
  });
  app.server.on("request", (req: { socket: Socket }) => unused.delete(req.socket));
  app.addHook("preClose", async () => {
    closing = true;
    for (const socket of unused) socket.destroy();
  });
  app.addHook("onRequest", async (_req, reply) => {
    if (!closing) return;
    reply.header("retry-after", "1").header("connection", "close");
    throw new QgjobError("unavailable", "the server is shutting down: retry shortly");
  });
}
