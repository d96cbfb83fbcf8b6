/**
 * Who is calling. A bearer token names one org (or the whole fleet) and its scopes. With no token
 * in the database and a loopback address the server runs open, like Redis' protected mode; open
 * mode answers only requests addressed to a loopback name, so a web page that rebinds its own
 * host name to 127.0.0.1 cannot borrow it.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Scope } from "../../api/types.js";
import { QgjobError } from "../errors.js";
import type { OrgScope, Store } from "../store/store.js";
import { hashToken, tokenRefusal } from "../tokens.js";

export interface Caller extends OrgScope {
  tokenId: string | null;
  scopes: ReadonlySet<string>;
}

const OPEN_CALLER: Caller = {
  orgId: null,
  tokenId: null,
  scopes: new Set(["admin"]),
};

/** Last use is recorded at most this often per token: a polling agent must not write per call. */
const TOUCH_EVERY_MS = 60_000;

/**
 * An open server asks the database again this often at most. A token created through this
 * server ends open mode at once (its "tokens" change); one created on another replica, whose
 * change may be lost, within this long.
 */
const OPEN_RECHECK_MS = 1_000;

export class Authenticator {
  private closed = false;
  /** When the database last answered "no tokens", and the change-feed mark taken before. */
  private openSeen: { mark: number; at: number } | null = null;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly loopback: boolean,
    private readonly clock: () => number = Date.now,
    /** Told once, when the first token ends open mode (the start-up warning no longer holds). */
    private readonly onClosed: () => void = () => {},
  ) {}

  /** Open until the first token exists; once closed, it stays closed (revoking does not reopen). */
  async isOpen(): Promise<boolean> {
    if (this.closed || !this.loopback) return false;
    const { changes } = this.store;
    const seen = this.openSeen;
    if (
      seen &&
      this.clock() - seen.at < OPEN_RECHECK_MS &&
      !changes.firedSince("tokens", seen.mark)
    ) {
      return true;
    }
    const mark = changes.mark();
    const at = this.clock();
    this.closed = await this.store.hasTokens();
    this.openSeen = this.closed ? null : { mark, at };
    if (this.closed) this.onClosed();
    return !this.closed;
  }

  /**
   * `scope`: one, or a list of which any will do. `open`: what `isOpen()` answered for this
   * request already (saves asking the database again).
   */
  async caller(
    req: FastifyRequest,
    scope: Scope | readonly Scope[],
    open?: boolean,
  ): Promise<Caller> {
    const header = req.headers.authorization;
    if (header === undefined) return this.callerFor(undefined, scope, open);
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return this.callerFor(match ? match[1]! : null, scope);
  }

  /**
   * Asks again, for a request that waited (a long poll): a token revoked or expired meanwhile, or
   * a server that left open mode, ends the wait with 401 instead of handing out work.
   */
  async recheck(req: FastifyRequest): Promise<void> {
    const scope = req.routeOptions.config.scope;
    if (scope) req.caller = await this.caller(req, scope);
  }

  /** `undefined`: no credentials were given; `null`: unreadable ones. The dashboard passes the
   * token from its cookie here, so pages and the API authorise alike. */
  async callerFor(
    token: string | null | undefined,
    scope: Scope | readonly Scope[],
    open?: boolean,
  ): Promise<Caller> {
    let caller: Caller;
    if (token === undefined) {
      if (!(open ?? (await this.isOpen()))) {
        throw new QgjobError("unauthorized", "missing Authorization: Bearer <token>");
      }
      caller = OPEN_CALLER;
    } else {
      const record = token === null ? null : await this.store.findToken(hashToken(token));
      if (!record) throw new QgjobError("unauthorized", "invalid API token");
      const now = this.clock();
      const refusal = tokenRefusal(record, now);
      if (refusal) throw new QgjobError("unauthorized", refusal);
      this.touch(record.id, now);
      caller = { orgId: record.orgId, tokenId: record.id, scopes: new Set(record.scopes) };
    }
    const wanted = typeof scope === "string" ? [scope] : scope;
    if (!wanted.some((s) => allows(caller, s))) {
      const names = wanted.map((s) => `'${s}'`);
      const list =
        names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0];
      throw new QgjobError("forbidden", `this token lacks the ${list} scope`);
    }
    return caller;
  }

  private touch(id: string, now: number) {
    const last = this.touched.get(id);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    // Best effort: a lost write only makes "last used" a minute older.
    this.store.touchToken(id, now).catch(() => this.touched.delete(id));
  }
}

export const allows = (caller: Caller, scope: Scope) =>
  caller.scopes.has(scope) || caller.scopes.has("admin");

/** An org the caller may act for; another org's id is answered as if it did not exist. */
/** localhost, *.localhost, 127.x.x.x and [::1], with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = (host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, ""))
    .toLowerCase()
    .replace(/\.$/, "");
  return (
    name === "localhost" ||
    name.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) ||
    name === "::1"
  );
}

export function requireLoopbackHost(host: string | undefined) {
  if (!isLoopbackHost(host)) {
    throw new QgjobError(
      "misdirected_request",
      "this server runs without tokens (open mode) and answers only requests to a loopback host name such as 127.0.0.1 or localhost",
    );
  }
}

/**
 * Content types a browser may send cross-site without asking first (a CORS "simple request"). A
 * state-changing API call without an Authorization header must not be one: otherwise any web
 * page could post to an open-mode server on the visitor's machine.
 */
const SIMPLE_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];

function requireNonSimpleBody(req: FastifyRequest) {
  if (req.headers.authorization !== undefined) return;
  if (!["POST", "PUT", "PATCH", "DELETE"].includes(req.method)) return;
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type === undefined || type === "" || SIMPLE_TYPES.includes(type)) {
    throw new QgjobError(
      "unsupported_media_type",
      "send the request with Content-Type: application/json (or an Authorization header)",
    );
  }
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope a route needs (or a list, any of them); routes without one (health) are public. */
    scope?: Scope | readonly Scope[];
  }
  interface FastifyRequest {
    caller: Caller;
  }
}

/** Authenticates before the body is parsed or validated: a stranger learns nothing from a 400. */
export function installAuth(app: FastifyInstance, auth: Authenticator) {
  app.decorateRequest("caller", null as unknown as Caller);
  app.addHook("onRequest", async (req) => {
    // Every route, pages and health included: an open server is reachable only as itself.
    const open = await auth.isOpen();
    if (open) requireLoopbackHost(req.headers.host);
    const { scope } = req.routeOptions.config;
    if (!scope) return;
    req.caller = await auth.caller(req, scope, open);
    requireNonSimpleBody(req);
  });
}
