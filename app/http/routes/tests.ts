/** Test history and quarantines: GET /api/v1/tests[/{id}], /api/v1/quarantines[/end]. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  ErrorBody,
  IdParams,
  ListTestsQuery,
  Page,
  Quarantine,
  QuarantineQuery,
  QuarantineRequest,
  TestDetail,
  TestSummary,
} from "../../../api/schemas.js";
import type { RouteDeps } from "../deps.js";
import { presentQuarantine, presentTest, presentTestDetail } from "../../present.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

export function testRoutes(app: FastifyInstance, deps: RouteDeps) {
  testReadRoutes(app, deps);
  quarantineRoutes(app, deps);
}

function testReadRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { tests } = deps;

  r.get(
    "/api/v1/tests",
    {
      config: { scope: "read" },
      schema: {
        summary: "List tests with their history, highest flake rate (or the chosen sort) first",
        operationId: "listTests",
        tags: ["tests"],
        querystring: ListTestsQuery,
        response: { 200: Page(TestSummary), ...errors },
      },
    },
    async (req) => {
      const page = await tests.list(req.query, req.caller);
      return { items: page.items.map(presentTest), next_cursor: page.nextCursor };
    },
  );

  r.get(
    "/api/v1/tests/:id",
    {
      config: { scope: "read" },
      schema: {
        summary: "A test's history with its recent runs and last failures",
        operationId: "getTest",
        tags: ["tests"],
        params: IdParams,
        response: { 200: TestDetail, ...errors },
      },
    },
    async (req) => presentTestDetail(await tests.get(req.params.id, req.caller)),
  );
}

function quarantineRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { tests } = deps;

  r.get(
    "/api/v1/quarantines",
    {
      config: { scope: "read" },
      schema: {
        summary: "The quarantines in force, soonest to end first",
        operationId: "listQuarantines",
        tags: ["tests"],
        response: { 200: z.object({ items: z.array(Quarantine) }), ...errors },
      },
    },
    async (req) => ({ items: (await tests.quarantines(req.caller)).map(presentQuarantine) }),
  );

  r.post(
    "/api/v1/quarantines",
    {
      config: { scope: "submit" },
      schema: {
        summary:
          "Quarantine a test file: it still runs and reports, but fails no run until it ends",
        operationId: "quarantineTest",
        tags: ["tests"],
        body: QuarantineRequest,
        response: { 201: Quarantine, ...errors },
      },
    },
    async (req, reply) =>
      reply.code(201).send(presentQuarantine(await tests.quarantine(req.caller, req.body))),
  );

  // A POST like token revocation: state changes are POSTs with a JSON body (auth.ts: a browser
  // cannot send one cross-site without asking).
  r.post(
    "/api/v1/quarantines/end",
    {
      config: { scope: "submit" },
      schema: {
        summary: "End a test file's quarantine now",
        operationId: "unquarantineTest",
        tags: ["tests"],
        body: QuarantineQuery,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      await tests.unquarantine(req.caller, req.body.org_id, req.body.test_path);
      return reply.code(204).send(null);
    },
  );
}
