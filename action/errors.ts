/**
 * Any failure before the verdict (bad inputs, an unreachable or refusing server, a bug) as the
 * one line core.setFailed prints. Never the token: ApiError names the method and URL only.
 */
import { ApiError } from "../api/client.js";

/** A failure the Action explains itself (bad inputs, stopped before submitting): one line. */
export class ActionError extends Error {
  override name = "ActionError";
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export const oneLine = (text: string) => text.replace(/\s*[\r\n]+\s*/g, " ").trim();

export function errorLine(err: unknown): string {
  return `qgjob: ${oneLine(describe(err))}`;
}

function describe(err: unknown): string {
  if (err instanceof ActionError) return err.message;
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const where = origin(err.url);
  switch (err.kind) {
    case "network":
      return (
        `cannot reach the qgjob server at ${where} (${err.reason ?? err.detail}); ` +
        "check server-url and that this runner can reach it"
      );
    case "timeout":
      return `the qgjob server at ${where} did not answer (${err.detail})`;
    case "aborted":
      return `gave up on ${err.method} ${err.url}`;
    case "invalid_response":
      return `unexpected answer from ${err.method} ${err.url} (${err.status}): ${err.detail}; is server-url a qgjob server?`;
    case "http": {
      const status = err.status ?? 0;
      const tail = `(${status} ${err.code}: ${err.detail})`;
      if (status === 401) {
        return `the server at ${where} refused the api-token ${tail}; check the secret holding it`;
      }
      if (status === 403) {
        return `the api-token may not do this ${tail}; it needs the submit and read scopes`;
      }
      if (status === 404) {
        return `${err.method} ${err.url}: not found ${tail}; check org-id (a token sees only its own org)`;
      }
      if (status >= 400 && status < 500) return `the server refused the request ${tail}`;
      return `server error from ${err.method} ${err.url} ${tail}`;
    }
  }
}
