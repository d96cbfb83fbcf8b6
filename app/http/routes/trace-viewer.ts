/**
 * Playwright's trace viewer, served by this server from playwright-core's own static files
 * (`/trace/index.html?trace=<artifact url>`): a trace opens without sending it to an outside
 * site. The viewer loads the trace through a service worker scoped to /trace/, from the same
 * origin, so a signed artifact link is all it needs.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve, sep } from "node:path";
import type { FastifyInstance } from "fastify";
import { QgjobError } from "../../errors.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ttf": "font/ttf",
  ".webmanifest": "application/manifest+json",
  ".png": "image/png",
};

export const TRACE_VIEWER_DIR = join(
  dirname(createRequire(import.meta.url).resolve("playwright-core/package.json")),
  "lib/vite/traceViewer",
);

/**
 * Only this server's artifact downloads may be opened: the viewer renders a trace's page
 * snapshots on this origin, so a trace from anywhere else is refused.
 */
function checkTraceParam(trace: string | undefined) {
  if (
    trace !== undefined &&
    !/^\/api\/v1\/jobs\/[^/?#]+\/attempts\/\d+\/artifacts\/\d+(\?sig=[\w.%-]+)?$/.test(trace)
  ) {
    throw new QgjobError("invalid_request", "trace must be an artifact of this server");
  }
}

export function traceViewerRoutes(app: FastifyInstance, dir = TRACE_VIEWER_DIR) {
  const root = resolve(dir);
  app.get("/trace/*", { schema: { hide: true } }, async (req, reply) => {
    const rel = (req.params as { "*": string })["*"] || "index.html";
    const path = resolve(root, rel);
    const type = TYPES[extname(path)];
    const info = path.startsWith(root + sep) && type ? await stat(path).catch(() => null) : null;
    if (!info?.isFile())
      throw new QgjobError("not_found", `no such file in the trace viewer: ${rel}`);
    if (rel === "index.html") checkTraceParam((req.query as { trace?: string }).trace);
    return (
      reply
        .header("content-type", type!)
        .header("content-length", info.size)
        .header("x-content-type-options", "nosniff")
        // The viewer's assets are named by their hash; the pages are not.
        .header(
          "cache-control",
          rel.endsWith(".html") || rel === "sw.bundle.js" ? "no-cache" : "public, max-age=86400",
        )
        .send(createReadStream(path))
    );
  });
}
