/**
 * Malformed requests over HTTP: every one gets a 4xx with `{ error: { code, message } }`, never a
 * 5xx, and leaves nothing behind. Odd but legal inputs are stored and returned exactly.
 */
import { describe, expect, it } from "vitest";
import {
  bodyOf,
  client,
  expectStatus,
  registerAgent,
  serverPerSuite,
  type Client,
} from "../harness.js";

const json = (value: unknown) => JSON.stringify(value);

const VALID_RUN = { org_id: "qualgent", app_version_id: "xyz123", tests: ["tests/a.spec.js"] };
const run = (changes: Record<string, unknown>) => json({ ...VALID_RUN, ...changes });
const runWithout = (field: keyof typeof VALID_RUN) => {
  const { [field]: _dropped, ...rest } = VALID_RUN;
  return json(rest);
};
const runWithTest = (path: string) => run({ tests: [path] });

/** Syntactically valid ids that name nothing: validation must answer before any lookup. */
const RUN_ID = "run_01JD0000000000000000000000";
const LEASE_ID = "lse_01JD0000000000000000000000";
const JOB_ID = "job_01JD0000000000000000000000";
const RESULT_PATH = `/api/v1/leases/${LEASE_ID}/jobs/${JOB_ID}/result`;
const VALID_RESULT = { attempt: 1, status: "passed", duration_ms: 10 };

interface Case {
  name: string;
  method?: "GET" | "POST";
  path?: string;
  /** Sent as is (already serialised); undefined sends no body. */
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** The status, or the statuses a fitting answer may have. */
  status?: number | number[];
  code?: string;
}

/** A body nested `depth` arrays deep, closed or not. */
const nested = (depth: number, closed: boolean) =>
  "[".repeat(depth) + (closed ? "]".repeat(depth) : "");

const CASES: Case[] = [
  // The shape of a submission.
  { name: "missing org_id", body: runWithout("org_id") },
  { name: "missing app_version_id", body: runWithout("app_version_id") },
  { name: "missing tests", body: runWithout("tests") },
  { name: "tests not an array", body: run({ tests: "tests/a.spec.js" }) },
  { name: "tests empty", body: run({ tests: [] }) },
  { name: "tests holding a number", body: run({ tests: [42] }) },
  {
    name: "10,000 tests (limit 5000)",
    body: run({ tests: Array.from({ length: 10_000 }, (_, i) => `tests/t${i}.spec.js`) }),
  },
  { name: "unknown target iphone", body: run({ target: "iphone" }) },
  { name: "negative priority", body: run({ priority: -1 }) },
  { name: "priority 1.5", body: run({ priority: 1.5 }) },
  { name: "priority as string", body: run({ priority: "5" }) },
  { name: "priority above 10", body: run({ priority: 11 }) },
  { name: "unknown top-level field", body: run({ colour: "blue" }) },
  { name: "org_id with spaces", body: run({ org_id: "my org" }) },
  { name: "org_id with SQL", body: run({ org_id: "'; DROP TABLE jobs;--" }) },
  // Test paths.
  { name: "a 1 MB test path", body: runWithTest("a".repeat(1_048_576)), status: [400, 413] },
  { name: "path traversal ../etc/passwd", body: runWithTest("../etc/passwd") },
  { name: "path traversal inside a path", body: runWithTest("tests/../../etc/passwd") },
  { name: "absolute path", body: runWithTest("/abs/path.spec.js") },
  { name: "Windows absolute path", body: runWithTest("C:\\tests\\a.spec.js") },
  { name: "a test path with NUL", body: runWithTest("tests/a\u0000.spec.js") },
  { name: "a test path with a newline", body: runWithTest("tests/a\n.spec.js") },
  {
    name: "POST /api/v1/jobs with a traversing test_path",
    path: "/api/v1/jobs",
    body: json({ org_id: "qualgent", app_version_id: "xyz123", test_path: "../x.spec.js" }),
  },
  // The body as bytes.
  {
    name: "a 3 MB body",
    body: runWithTest("a".repeat(3 * 1024 * 1024)),
    status: 413,
    code: "payload_too_large",
  },
  { name: "bad JSON {bad", body: "{bad", code: "invalid_json" },
  {
    name: "invalid UTF-8 in a test path",
    body: Buffer.concat([
      Buffer.from('{"org_id":"qualgent","app_version_id":"xyz123","tests":["a'),
      Buffer.from([0xff]),
      Buffer.from('.spec.js"]}'),
    ]),
    code: "invalid_json",
  },
  { name: "JSON null", body: "null" },
  { name: "JSON []", body: "[]" },
  { name: 'JSON "str"', body: '"str"' },
  { name: "JSON 42", body: "42" },
  { name: "empty body with content-type json", body: "", code: "invalid_json" },
  {
    name: "content-type text/plain",
    body: json(VALID_RUN),
    headers: { "content-type": "text/plain" },
    status: [400, 415],
  },
  {
    name: "content-type application/xml",
    body: json(VALID_RUN),
    headers: { "content-type": "application/xml" },
    status: 415,
    code: "unsupported_media_type",
  },
  { name: "10,000 unclosed [", body: nested(10_000, false), code: "invalid_json" },
  { name: "10,000 nested arrays", body: nested(10_000, true) },
  {
    name: "10,000 nested arrays inside tests",
    body: run({ tests: "HOLE" }).replace('"HOLE"', nested(10_000, true)),
  },
  { name: "a __proto__ key", body: `{"__proto__":{"admin":true},${run({}).slice(1)}` },
  // URL parameters and queries.
  { name: "GET /api/v1/jobs/nope", method: "GET", path: "/api/v1/jobs/nope", status: [400, 404] },
  {
    name: "GET /api/v1/runs/..%2f..",
    method: "GET",
    path: "/api/v1/runs/..%2f..",
    status: [400, 404],
  },
  {
    name: "malformed percent-encoding in an id",
    method: "GET",
    path: "/api/v1/runs/%zz",
    status: [400, 404],
  },
  {
    name: "an id longer than the router allows",
    method: "GET",
    path: `/api/v1/runs/run_${"A".repeat(200)}`,
    status: [400, 404, 414],
  },
  {
    name: "a 100 KB query string",
    method: "GET",
    path: `/api/v1/jobs?org_id=${"a".repeat(100_000)}`,
    status: [400, 414, 431],
  },
  { name: "cursor !!!", method: "GET", path: "/api/v1/jobs?cursor=!!!" },
  {
    name: "a base64url cursor decoding to garbage (jobs)",
    method: "GET",
    path: `/api/v1/jobs?cursor=${Buffer.from("garbage\u0000\u00ff").toString("base64url")}`,
  },
  {
    name: "a base64url cursor decoding to garbage (runs)",
    method: "GET",
    path: `/api/v1/runs?cursor=${Buffer.from("run_<script>").toString("base64url")}`,
  },
  { name: "unknown query param", method: "GET", path: "/api/v1/jobs?colour=blue" },
  { name: "limit=0", method: "GET", path: "/api/v1/runs?limit=0" },
  { name: "limit=100000", method: "GET", path: "/api/v1/jobs?limit=100000" },
  { name: "limit=abc", method: "GET", path: "/api/v1/jobs?limit=abc" },
  {
    name: "run wait timeout_s=-1",
    method: "GET",
    path: `/api/v1/runs/${RUN_ID}/wait?timeout_s=-1`,
  },
  {
    name: "job wait timeout_s=-1",
    method: "GET",
    path: `/api/v1/jobs/${JOB_ID}/wait?timeout_s=-1`,
  },
  // Agents and results.
  {
    name: "agent register with unknown target",
    path: "/api/v1/agents",
    body: json({ name: "a1", target: "iphone" }),
  },
  {
    name: "agent register with a name holding spaces",
    path: "/api/v1/agents",
    body: json({ name: "my agent", target: "emulator" }),
  },
  {
    name: "result with a negative duration",
    path: RESULT_PATH,
    body: json({ ...VALID_RESULT, duration_ms: -1 }),
  },
  {
    name: "result with status exploded",
    path: RESULT_PATH,
    body: json({ ...VALID_RESULT, status: "exploded" }),
  },
  // Headers.
  {
    name: "non-ASCII Idempotency-Key",
    body: json(VALID_RUN),
    // fetch only sends bytes: these are the UTF-8 bytes of "ключ-☃".
    headers: { "idempotency-key": Buffer.from("ключ-☃").toString("latin1") },
  },
  {
    name: "300-character Idempotency-Key",
    body: json(VALID_RUN),
    headers: { "idempotency-key": "k".repeat(300) },
  },
];

/** What the server holds, as a client can see it. */
async function stored(api: Client) {
  const [jobs, runs, agents] = await Promise.all([
    api.get("/api/v1/jobs"),
    api.get("/api/v1/runs"),
    api.get("/api/v1/agents"),
  ]);
  return { jobs: bodyOf(jobs).items, runs: bodyOf(runs).items, agents: bodyOf(agents).items };
}

describe("malformed requests", () => {
  const suite = serverPerSuite();

  it.each(CASES.map((c) => [c.name, c] as const))("%s -> 4xx", async (_name, c) => {
    // Untyped on purpose: a case's method and path are data (some match no route), so no
    // operation types the reply; what is checked is the error shape every route answers.
    const res = await client<"untyped">(suite.server.url).call(
      c.method ?? "POST",
      c.path ?? "/api/v1/runs",
      c.body,
      c.headers,
    );
    const allowed = c.status === undefined ? [400] : [c.status].flat();
    const shown = JSON.stringify(res.body).slice(0, 500);
    expect(allowed, shown).toContain(res.status);
    expect(typeof res.body?.error?.code, `error.code of ${shown}`).toBe("string");
    expect(typeof res.body?.error?.message, `error.message of ${shown}`).toBe("string");
    if (c.code) expect(res.body.error.code).toBe(c.code);
    expect(await stored(suite.api)).toEqual({ jobs: [], runs: [], agents: [] });
  });

  it("still answers /healthz afterwards, with nothing stored", async () => {
    expect((await suite.api.get("/healthz")).status).toBe(200);
    expect(await stored(suite.api)).toEqual({ jobs: [], runs: [], agents: [] });
  });
});

describe("odd but legal inputs", () => {
  const suite = serverPerSuite();

  const ODD_PATHS = [
    "tests/ünï cödé/a b.spec.ts",
    "tests/$(rm -rf)/x;y|z.spec.js",
    "tests/`whoami` && echo 'q' \"dq\" > out.spec.js",
    "tests/<script>alert(1)</script>.spec.js",
    "tests/%2e%2e/still-literal.spec.js",
    "tests/..hidden/x...spec.js",
    "tests/emoji 🚀/日本語.spec.ts",
    "tests\\windows\\style.spec.js",
  ];

  it("stores them as plain strings and returns them exactly", async () => {
    const submitted = await suite.api.post("/api/v1/runs", {
      org_id: "Org.with_odd-chars",
      app_version_id: "1.2.3+build:4@rc-1",
      tags: ["@smoke", "nightly:2"],
      tests: ODD_PATHS,
    });
    expectStatus(submitted, 201);
    const paths = (jobs: { test_path: string }[]) => jobs.map((j) => j.test_path).sort();
    const expected = [...ODD_PATHS].sort();
    expect(paths(submitted.body.jobs)).toEqual(expected);
    expect(submitted.body.org_id).toBe("Org.with_odd-chars");
    expect(submitted.body.app_version_ids).toEqual(["1.2.3+build:4@rc-1"]);

    const fetched = bodyOf(await suite.api.get(`/api/v1/runs/${submitted.body.id}`));
    expect(paths(fetched.jobs)).toEqual(expected);
    const listed = bodyOf(await suite.api.get(`/api/v1/jobs?run_id=${submitted.body.id}`));
    expect(paths(listed.items)).toEqual(expected);
    for (const job of submitted.body.jobs) {
      const one = bodyOf(await suite.api.get(`/api/v1/jobs/${job.id}`));
      expect(one.test_path).toBe(job.test_path);
      expect(one.tags).toEqual(["@smoke", "nightly:2"]);
    }

    // The agent receives them byte for byte too.
    const agentId = await registerAgent(suite.api, "odd-agent");
    const lease = await suite.api.post(`/api/v1/agents/${agentId}/lease`, {});
    expectStatus(lease, 200);
    expect(lease.body.app_version_id).toBe("1.2.3+build:4@rc-1");
    expect(paths(lease.body.jobs)).toEqual(expected);
  });

  it("returns a single job's odd path exactly", async () => {
    const path = "tests/ünï cödé/a b.spec.ts";
    const job = await suite.api.post("/api/v1/jobs", {
      org_id: "qualgent",
      app_version_id: "xyz123",
      test_path: path,
    });
    expectStatus(job, 201);
    expect(job.body.test_path).toBe(path);
    expect(bodyOf(await suite.api.get(`/api/v1/jobs/${job.body.id}`)).test_path).toBe(path);
  });
});
