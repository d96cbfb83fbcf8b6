/**
 * Every failure leaves as `{ error: { code, message, details } }` with a fitting status; a HEAD
 * request's failure, whose body is dropped on the way, also as headers (ERROR_HEADERS).
 */
import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { ERROR_HEADERS, ErrorBody } from "../../api/schemas.js";
import { ERROR_STATUS, QgjobError, type ErrorCode } from "../errors.js";

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid_json",
  FST_ERR_CTP_BODY_TOO_LARGE: "payload_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid_request",
};

const RETRY_AFTER_S = "5";

const send = (code: ErrorCode, message: string, details?: unknown) => ({
  error: { code, message, ...(details === undefined ? {} : { details }) },
});

export function installErrorHandlers(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof QgjobError) {
      // Every 503 is a "come back soon": say when, so clients and agents back off alike.
      if (err.status === 503 && !reply.hasHeader("retry-after")) {
        reply.header("retry-after", RETRY_AFTER_S);
      }
      return reply.code(err.status).send(send(err.code, err.message, err.details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => ({
        where: err.validationContext,
        path: v.instancePath || "/",
        message: v.message,
      }));
      const first = issues[0];
      return reply
        .code(400)
        .send(
          send("invalid_request", `${first?.where} ${first?.path}: ${first?.message}`, { issues }),
        );
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) {
      return reply.code(ERROR_STATUS[mapped]).send(send(mapped, err.message));
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(send("invalid_request", err.message));
    }
    req.log.error({ err }, "unhandled error");
    return reply.code(500).send({ error: { code: "internal", message: "internal server error" } });
  });

  app.addHook("onSend", async (req, reply, payload) => {
    if (req.method !== "HEAD" || reply.statusCode < 400 || typeof payload !== "string") {
      return payload;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return payload; // a page's error, not the API's
    }
    const body = ErrorBody.safeParse(parsed);
    if (body.success) {
      reply.header(ERROR_HEADERS.code, body.data.error.code);
      reply.header(ERROR_HEADERS.message, encodeURIComponent(body.data.error.message));
    }
    return payload;
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(send("not_found", `no route ${req.method} ${req.url.split("?")[0]}`)),
  );
}
