/**
 * Input fuzzing of every operation in the OpenAPI document: each request carries exactly one
 * malformed part (body, query, path, header, Authorization, raw bytes, URL) on an otherwise valid
 * request naming real runs, jobs, agents and leases. Every answer must be a 4xx with an error
 * code, the server must stay up, and the database must be byte-for-byte the same afterwards.
 */
import { isUtf8 } from "node:buffer";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueToken } from "../../app/tokens.js";
import {
  bodyOf,
  client,
  expectStatus,
  startTestServer,
  submit,
  type TestServer,
} from "../harness.js";
import { dumpDatabase } from "./snapshot.js";
import { HOSTILE, invalidJson, invalidText, validJson, type JsonSchema } from "./malformed.js";

const BODY_LIMIT = 256 * 1024;
const REQUESTS = 10_400;
const IN_FLIGHT = 8;

interface Parameter {
  in: "path" | "query" | "header";
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

interface Operation {
  method: string;
  template: string;
  parameters: Parameter[];
  body: JsonSchema | null;
}

interface FuzzRequest {
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

interface World {
  ids: Record<string, string>;
  token: string;
}

/** Real ids for each path parameter, so a request fails only because of its malformed part. */
function realId(template: string, name: string, w: World): string {
  if (name === "lease_id") return w.ids.lease!;
  if (name === "job_id") return w.ids.job!;
  // A hash no body the fuzzer sends can match: an upload is refused, a read is 404.
  if (name === "sha256") return "0".repeat(64);
  // The first attempt's first artifact: the fuzzed job has none, so a read is 404.
  if (name === "attempt") return "1";
  if (name === "index") return "0";
  if (template.startsWith("/api/v1/runs/")) return w.ids.run!;
  if (template.startsWith("/api/v1/jobs/")) return w.ids.job!;
  if (template.startsWith("/api/v1/agents/")) return w.ids.agent!;
  // A token id that names none: a revoke that slipped through would change the database.
  if (template.startsWith("/api/v1/tokens/")) return "tok_01JD0000000000000000000000";
  // A test id that names none: the fuzzed server has no test history, so a read is 404.
  if (template.startsWith("/api/v1/tests/")) return "tst_01JD0000000000000000000000";
  throw new Error(`no id for {${name}} in ${template}`);
}

/** Header values fetch can send unchanged (it trims and refuses CR, LF, NUL and non-Latin-1). */
const sendableHeader = (s: string) => s === s.trim() && /^[\t\x20-\x7e\x80-\xff]*$/.test(s);

interface RawBody {
  what: string;
  type: string;
  body: string | Buffer;
}

/** Deeply nested JSON: well-formed, so only a route with a body schema refuses it. */
const DEEP_JSON: fc.Arbitrary<RawBody> = fc.integer({ min: 1_000, max: 100_000 }).map((depth) => ({
  what: `JSON nested ${depth} deep`,
  type: "application/json",
  body: `{"tests":${"[".repeat(depth)}${"]".repeat(depth)}}`,
}));

/** Bodies no route may accept, whether or not it reads a body. */
const RAW_BODIES: fc.Arbitrary<RawBody> = fc.oneof(
  fc
    .constantFrom("{bad", '{"a":1,}', "{'a':1}", "[1,2", '{"a":NaN}', "{}x", '"\\ud800', "\u0000")
    .map((body) => ({ what: "invalid JSON", type: "application/json", body })),
  fc
    .constantFrom('{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}')
    .map((body) => ({ what: "prototype pollution", type: "application/json", body })),
  fc
    .array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 4 })
    .filter((bytes) => !isUtf8(Buffer.from(bytes)))
    .map((bytes) => ({
      what: "invalid UTF-8",
      type: "application/json",
      body: Buffer.concat([Buffer.from('{"'), Buffer.from(bytes), Buffer.from('":1}')]),
    })),
  fc.constant({ what: "empty JSON body", type: "application/json", body: "" }),
  fc
    .constantFrom("application/xml", "application/x-www-form-urlencoded", "image/png")
    .map((type) => ({ what: `content-type ${type}`, type, body: "<a/>" })),
  fc.constant({
    what: "body over the limit",
    type: "application/json",
    body: JSON.stringify({ tests: ["a".repeat(BODY_LIMIT)] }),
  }),
);

const BAD_AUTH = fc.oneof(
  fc.constantFrom(
    "Bearer",
    "Bearer ",
    "bearer a b",
    "Basic dXNlcjpwYXNz",
    "Token x",
    "Bearer\tx y",
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/).map((s) => `Bearer qgj_${s}`),
  fc.constantFrom(...HOSTILE.filter(sendableHeader)).map((s) => `Bearer ${s}`),
);

/** An id in the right format that names nothing. */
const MISSING_ID = fc
  .tuple(fc.constantFrom("run", "job", "agt", "lse", "tok"), fc.stringMatching(/^[0-9A-Z]{26}$/))
  .map(([prefix, rest]) => `${prefix}_${rest}`);

function requestArbitrary(op: Operation, w: World): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === "path");
  const query = op.parameters.filter((p) => p.in === "query");
  const headerParams = op.parameters.filter((p) => p.in === "header");
  const hasBody = op.method !== "GET";

  const build = (
    what: string,
    over: {
      params?: Record<string, string>;
      query?: string;
      headers?: Record<string, string>;
      body?: unknown;
      raw?: { type: string; body: string | Buffer };
      suffix?: string;
    },
    good: unknown,
  ): FuzzRequest => {
    const path = op.template.replace(/\{(\w+)\}/g, (_, name: string) =>
      over.params?.[name] !== undefined
        ? over.params[name]
        : encodeURIComponent(realId(op.template, name, w)),
    );
    const headers: Record<string, string> = { authorization: `Bearer ${w.token}` };
    let body: string | Buffer | undefined;
    if (over.raw) {
      headers["content-type"] = over.raw.type;
      body = over.raw.body;
    } else if (hasBody) {
      headers["content-type"] = "application/json";
      body = JSON.stringify("body" in over ? over.body : good);
    }
    return {
      what: `${op.method} ${op.template}: ${what}`,
      method: op.method,
      path: path + (over.suffix ?? "") + (over.query ? `?${over.query}` : ""),
      headers: { ...headers, ...over.headers },
      body,
    };
  };

  const good: fc.Arbitrary<unknown> = op.body ? validJson(op.body) : fc.constant({});
  const kinds: fc.Arbitrary<FuzzRequest>[] = [
    fc
      .tuple(BAD_AUTH, good)
      .map(([auth, g]) =>
        build(`Authorization ${JSON.stringify(auth)}`, { headers: { authorization: auth } }, g),
      ),
    fc
      .tuple(
        fc.constantFrom("/../../etc/passwd", "/%2e%2e/%2e%2e/etc", "/extra", "%zz", "/;id", "//"),
        good,
      )
      .map(([suffix, g]) => build(`URL suffix ${suffix}`, { suffix }, g)),
  ];
  for (const p of pathParams) {
    const bad = invalidText(p.schema)!;
    kinds.push(
      fc
        .tuple(fc.oneof(bad, MISSING_ID), good)
        .map(([v, g]) =>
          build(
            `{${p.name}}=${JSON.stringify(v).slice(0, 60)}`,
            { params: { [p.name]: encodeURIComponent(v) } },
            g,
          ),
        ),
    );
  }
  for (const p of query) {
    const bad = invalidText(p.schema);
    if (!bad) continue;
    const values =
      p.name === "cursor"
        ? fc.oneof(
            bad,
            fc.base64String({ minLength: 4 }).map((s) => s.replace(/[+/=]/g, "A")),
          )
        : bad;
    kinds.push(
      fc
        .tuple(values, good)
        .map(([v, g]) =>
          build(
            `?${p.name}=${JSON.stringify(v).slice(0, 60)}`,
            { query: `${p.name}=${encodeURIComponent(v)}` },
            g,
          ),
        ),
    );
  }
  for (const p of headerParams) {
    const bad = invalidText(p.schema)!.filter(sendableHeader);
    kinds.push(
      fc
        .tuple(bad, good)
        .map(([v, g]) =>
          build(`${p.name}: ${JSON.stringify(v).slice(0, 60)}`, { headers: { [p.name]: v } }, g),
        ),
    );
  }
  if (hasBody) {
    kinds.push(RAW_BODIES.map((raw) => build(raw.what, { raw }, null)));
  }
  if (op.body) {
    kinds.push(
      DEEP_JSON.map((raw) => build(raw.what, { raw }, null)),
      invalidJson(op.body).map((body) =>
        build(`body ${JSON.stringify(body)?.slice(0, 120)}`, { body }, null),
      ),
    );
  }
  return fc.oneof(...kinds);
}

describe("HTTP input fuzzing", () => {
  let server: TestServer;
  let operations: Operation[];
  let w: World;

  beforeAll(async () => {
    server = await startTestServer({
      leaseTtlS: 3600,
      rateLimitPerS: 0,
      bodyLimitBytes: BODY_LIMIT,
    });
    const token = (
      await issueToken(server.store, { orgId: "acme", scopes: ["admin"], name: "fuzz" }, Date.now())
    ).token;
    const api = client(server.url, token);
    const run = bodyOf(await submit(api, { org_id: "acme", tests: ["a.spec.js", "b.spec.js"] }));
    await submit(api, { org_id: "acme", target: "browserstack", tests: ["q.spec.js"] });
    const agent = bodyOf(
      await api.post("/api/v1/agents", { name: "fuzz-agent", target: "emulator" }),
    );
    const lease = await api.post(`/api/v1/agents/${agent.id}/lease`, {});
    expectStatus(lease, 200);
    const job = lease.body.jobs[0]!;
    const started = await api.post(`/api/v1/leases/${lease.body.id}/jobs/${job.id}/start`, {
      attempt: job.attempt,
    });
    expectStatus(started, 200);
    w = { token, ids: { run: run.id, job: job.id, agent: agent.id, lease: lease.body.id } };

    // The harness types only the document's tags: a parameter's and a body's schemas are read
    // as the JSON they are.
    const doc = bodyOf(await api.get("/api/v1/openapi.json"));
    operations = Object.entries<Record<string, any>>(doc.paths).flatMap(([template, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        template,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.["application/json"]?.schema ?? null,
      })),
    );
  });
  afterAll(() => server.close());

  it(`answers ${REQUESTS}+ malformed requests on every route with a 4xx and changes nothing`, async () => {
    expect(operations.length).toBeGreaterThanOrEqual(17);
    const before = dumpDatabase(server.db);
    const seen = new Map<string, number>();
    const statuses = new Map<number, number>();
    let sent = 0;

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(...operations.map((op) => requestArbitrary(op, w))), {
          minLength: IN_FLIGHT,
          maxLength: IN_FLIGHT,
        }),
        async (batch) => {
          const answers = await Promise.all(
            batch.map(async (req) => {
              const res = await fetch(server.url + req.path, {
                method: req.method,
                headers: req.headers,
                body: req.body,
              });
              const text = await res.text();
              return { req, status: res.status, text };
            }),
          );
          for (const { req, status, text } of answers) {
            sent++;
            const op = req.what.split(":")[0]!;
            seen.set(op, (seen.get(op) ?? 0) + 1);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            expect(status, `${req.what} -> ${status} ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(
              400,
            );
            expect(status, `${req.what} -> ${status} ${text.slice(0, 300)}`).toBeLessThan(500);
            const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            expect(typeof body.error?.code, `${req.what}: ${text.slice(0, 300)}`).toBe("string");
            expect(typeof body.error?.message).toBe("string");
          }
        },
      ),
      { numRuns: Math.ceil(REQUESTS / IN_FLIGHT), endOnFailure: true },
    );

    expect((await fetch(server.url + "/healthz")).status).toBe(200);
    // The fuzzer runs in the server's process and holds its event loop for seconds at a time;
    // the server counts that as a pause and extends live leases by it (app/pauses.ts). That is
    // the one change allowed: every other column of every row is as it was.
    const withoutLeaseExpiry = (db: Record<string, unknown[]>) => ({
      ...db,
      leases: db.leases!.map((l) => ({ ...(l as object), expires_at: null })),
    });
    expect(withoutLeaseExpiry(dumpDatabase(server.db))).toEqual(withoutLeaseExpiry(before));
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    // Every documented operation got its share.
    for (const op of operations) {
      expect(seen.get(`${op.method} ${op.template}`) ?? 0).toBeGreaterThan(100);
    }
    console.log(
      `fuzz: ${sent} malformed requests over ${operations.length} operations; ` +
        `answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; no 5xx, data unchanged`,
    );
  });
});
