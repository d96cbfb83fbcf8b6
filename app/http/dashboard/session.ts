/**
 * The dashboard's session: the API token a person entered, kept by the browser in an HttpOnly,
 * SameSite=Strict cookie (never in a page or URL), and a same-origin check on every POST form.
 */
import type { IncomingHttpHeaders } from "node:http";

export const SESSION_COOKIE = "qgjob_session";
const MAX_AGE_S = 30 * 24 * 3600;

/** The value of one cookie, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function sessionCookie(token: string, secure: boolean): string {
  return (
    `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; ` +
    `Max-Age=${MAX_AGE_S}${secure ? "; Secure" : ""}`
  );
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`;
}

/**
 * A form POST must come from a page of this server: its Origin (or, failing that, Referer) must
 * name the host the request was sent to. SameSite=Strict already keeps the cookie off other
 * sites' requests; this also covers open mode, where there is no cookie to withhold. `host` is
 * Fastify's `req.host`, which reads X-Forwarded-Host only when the server trusts its proxy
 * (QGJOB_TRUST_PROXY): any client can send that header.
 */
export function sameOrigin(headers: IncomingHttpHeaders, host: string | undefined): boolean {
  const from = headers.origin ?? headers.referer;
  if (!from || !host || from === "null") return false;
  try {
    return new URL(from).host === host;
  } catch {
    return false;
  }
}
