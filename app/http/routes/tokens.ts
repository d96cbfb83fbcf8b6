/** Token lifecycle over the API (admin scope): list, create, revoke. A secret is shown once. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  CreatedToken,
  CreateTokenRequest,
  ErrorBody,
  IdParams,
  Token,
} from "../../../api/schemas.js";
import { notFound, QgjobError } from "../../errors.js";
import { issueToken } from "../../tokens.js";
import { requireOrg } from "../../runs.js";
import type { Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { presentToken } from "../../present.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
const DAY_MS = 86_400_000;

/** The org a new token acts for: an org admin makes tokens for its own org only. */
function orgOfNewToken(caller: Caller, body: z.output<typeof CreateTokenRequest>): string | null {
  if (body.fleet) {
    if (body.org_id !== undefined) {
      throw new QgjobError("invalid_request", "give org_id or fleet: true, not both");
    }
    if (caller.orgId !== null) {
      throw new QgjobError("forbidden", "only a fleet admin token can create fleet tokens");
    }
    return null;
  }
  const orgId = body.org_id ?? caller.orgId;
  if (orgId === null) {
    throw new QgjobError("invalid_request", "give org_id (or fleet: true for a fleet token)");
  }
  requireOrg(caller, orgId);
  return orgId;
}

/** When a new token expires: in the days asked (0: never), else after the server's default. */
function expiryOf(days: number | undefined, defaultTtlMs: number | null, now: number) {
  if (days === undefined) return defaultTtlMs === null ? null : now + defaultTtlMs;
  return days === 0 ? null : now + Math.round(days * DAY_MS);
}

export function tokenRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;

  r.get(
    "/api/v1/tokens",
    {
      config: { scope: "admin" },
      schema: {
        summary: "List API tokens (never their secrets)",
        operationId: "listTokens",
        tags: ["tokens"],
        response: { 200: z.object({ items: z.array(Token) }), ...errors },
      },
    },
    async (req) => ({ items: (await store.listTokens(req.caller)).map(presentToken) }),
  );

  r.post(
    "/api/v1/tokens",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Create an API token; its secret is in this answer only",
        operationId: "createToken",
        tags: ["tokens"],
        body: CreateTokenRequest,
        response: { 201: CreatedToken, ...errors },
      },
    },
    async (req, reply) => {
      const now = clock();
      const orgId = orgOfNewToken(req.caller, req.body);
      const { scopes, name, expires_in_days: days } = req.body;
      const expiresAt = expiryOf(days, deps.tokenTtlMs, now);
      const { token, record } = await issueToken(store, { orgId, scopes, name, expiresAt }, now);
      req.log.info({ token_id: record.id, org: orgId, scopes: record.scopes }, "token created");
      return reply.code(201).send({ ...presentToken(record), token });
    },
  );

  r.post(
    "/api/v1/tokens/:id/revoke",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Revoke an API token: refused from the next request on, long polls included",
        operationId: "revokeToken",
        tags: ["tokens"],
        params: IdParams,
        response: { 200: Token, ...errors },
      },
    },
    async (req) => {
      const record = await store.revokeToken(req.params.id, req.caller, clock());
      if (!record) throw notFound("token", req.params.id);
      req.log.info({ token_id: record.id }, "token revoked");
      return presentToken(record);
    },
  );
}
