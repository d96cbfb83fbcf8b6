/**
 * Who is calling. A bearer token names one org (or the whole fleet) and its scopes. With no token
 * in the database and a loopback address the server runs open, like Redis' protected mode.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Scope } from "../../api/types.js";
import { QgjobError } from "../errors.js";
import type { OrgScope, Store } from "../store/store.js";
import { hashToken } from "../tokens.js";

export interface Caller extends OrgScope {
  tokenId: string | null;
  scopes: ReadonlySet<string>;
}

const OPEN_CALLER: Caller = {
  orgId: null,
  tokenId: null,
  scopes: new Set(["admin"]),
};

export class Authenticator {
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly loopback: boolean,
  ) {}

  /** Open until the first token exists; once closed, it stays closed. */
  async isOpen(): Promise<boolean> {
    if (this.closed || !this.loopback) return false;
    this.closed = await this.store.hasTokens();
    return !this.closed;
  }

  async caller(req: FastifyRequest, scope: Scope): Promise<Caller> {
    const header = req.headers.authorization;
    if (header === undefined) return this.callerFor(undefined, scope);
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return this.callerFor(match ? match[1]! : null, scope);
  }

  /** `undefined`: no credentials were given; `null`: unreadable ones. The dashboard passes the
   * token from its cookie here, so pages and the API authorise alike. */
  async callerFor(token: string | null | undefined, scope: Scope): Promise<Caller> {
    let caller: Caller;
    if (token === undefined) {
      if (!(await this.isOpen())) {
        throw new QgjobError("unauthorized", "missing Authorization: Bearer <token>");
      }
      caller = OPEN_CALLER;
    } else {
      const record = token === null ? null : await this.store.findToken(hashToken(token));
      if (!record) throw new QgjobError("unauthorized", "invalid API token");
      caller = { orgId: record.orgId, tokenId: record.id, scopes: new Set(record.scopes) };
    }
    if (!allows(caller, scope)) {
      throw new QgjobError("forbidden", `this token lacks the '${scope}' scope`);
    }
    return caller;
  }
}

export const allows = (caller: Caller, scope: Scope) =>
  caller.scopes.has(scope) || caller.scopes.has("admin");

/** An org the caller may act for; another org's id is answered as if it did not exist. */
declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope a route needs; routes without one (health, metrics) are public. */
    scope?: Scope;
  }
  interface FastifyRequest {
    caller: Caller;
  }
}

/** Authenticates before the body is parsed or validated: a stranger learns nothing from a 400. */
export function installAuth(app: FastifyInstance, auth: Authenticator) {
  app.decorateRequest("caller", null as unknown as Caller);
  app.addHook("onRequest", async (req) => {
    const scope = req.routeOptions.config.scope;
    if (scope) req.caller = await auth.caller(req, scope);
  });
}
