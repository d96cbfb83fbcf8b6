/**
 * The blob store's upload routes as a BlobSink: `HEAD /api/v1/blobs/{sha256}` (already there?)
 * and `PUT` with the file streamed as the body (never read into memory).
 */
import type { Readable } from "node:stream";
import { ApiError } from "../../api/client.js";
import type { BlobSink } from "./uploader.js";

export function httpBlobSink(opts: {
  baseUrl: string;
  token?: string | undefined;
  timeoutMs?: number;
}): BlobSink {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const url = (sha256: string, orgId: string) =>
    `${base}/api/v1/blobs/${sha256}?org_id=${encodeURIComponent(orgId)}&kind=artifact`;
  const headers = (): Record<string, string> =>
    opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const call = async (method: string, where: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(where, {
        ...init,
        method,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10 * 60_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ApiError("network", method, where, null, "unreachable", cause, undefined, cause);
    }
  };
  const fail = async (method: string, where: string, res: Response): Promise<never> => {
    const text = await res.text().catch(() => "");
    let code = `http_${res.status}`;
    let message = text.slice(0, 200) || res.statusText;
    try {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not the error format: keep the text
    }
    throw new ApiError("http", method, where, res.status, code, message);
  };
  return {
    async has(orgId, sha256) {
      const where = url(sha256, orgId);
      const res = await call("HEAD", where, { headers: headers() });
      if (res.status === 404) return false;
      if (!res.ok) return fail("HEAD", where, res);
      return true;
    },
    async put(orgId, sha256, size, body: Readable) {
      const where = url(sha256, orgId);
      const res = await call("PUT", where, {
        headers: {
          ...headers(),
          "content-type": "application/octet-stream",
          "content-length": String(size),
        },
        body: body as unknown as ReadableStream,
        duplex: "half",
      } as RequestInit);
      if (!res.ok) await fail("PUT", where, res);
      await res.arrayBuffer();
    },
  };
}
