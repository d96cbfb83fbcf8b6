/**
 * The JSON body parser: Fastify's own (which refuses `__proto__` and `constructor.prototype`
 * keys), behind a UTF-8 check. Node would otherwise decode invalid bytes to U+FFFD and store a
 * test path or message the client never sent.
 */
import { isUtf8 } from "node:buffer";
import type { FastifyInstance } from "fastify";
import { QgjobError } from "../errors.js";

export function installJsonBody(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(new QgjobError("invalid_json", "the body is not valid UTF-8"), undefined);
      return;
    }
    parse(req, bytes.toString("utf8"), done);
  });
}
