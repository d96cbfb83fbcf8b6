/**
 * Test harness: a real qgjob server on a loopback port over a real SQLite file in a temp
 * directory, and a tiny fetch wrapper. Tests talk to it exactly as clients do.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { AGENT_KEY_HEADER, type ErrorBody } from "../api/schemas.js";
import { loadConfig, type ConfigInput } from "../app/config.js";
import { createLogger, startServer, type RunningServer } from "../app/server.js";
import type { Answer, ApiPath, ByStatus } from "./operations.js";

export interface TestServer extends RunningServer {
  dir: string;
  db: string;
  /** Stops the server, keeping the database file. */
  stop(): Promise<void>;
  /** Stops the server and deletes its directory. */
  close(): Promise<void>;
}

export function tempDir(prefix = "qgjob-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(
  config: ConfigInput = {},
  dir = tempDir(),
): Promise<TestServer> {
  const db = join(dir, "qgjob.db");
  const server = await startServer(
    loadConfig({ host: "127.0.0.1", port: 0, db, logLevel: "silent", ...config }, {}),
    createLogger("silent"),
  );
  return {
    ...server,
    dir,
    db,
    stop: () => server.close(),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Statuses a test may meet; a reply's status is one of them, so a check on it narrows the body. */
export type SuccessStatus = 200 | 201 | 202 | 204 | 206;
type FailureStatus =
  | 300
  | 301
  | 302
  | 303
  | 304
  | 307
  | 308
  | 400
  | 401
  | 403
  | 404
  | 405
  | 406
  | 408
  | 409
  | 410
  | 411
  | 412
  | 413
  | 414
  | 415
  | 416
  | 422
  | 429
  | 431
  | 500
  | 501
  | 502
  | 503
  | 504;

type Successes<T> =
  T extends ByStatus<infer S>
    ? { [K in keyof S & SuccessStatus]: { status: K; body: S[K]; headers: Headers } }[keyof S &
        SuccessStatus]
    : { status: SuccessStatus; body: T; headers: Headers };

/** A reply whose body is the operation's answer on a 2xx and the error's body otherwise. */
export type Reply<T = unknown, E = ErrorBody> =
  Successes<T> | { status: FailureStatus; body: E; headers: Headers };

/**
 * The API answers errors as `ErrorBody`, and so does /metrics (its text is the success only);
 * pages answer text either way.
 */
export type ReplyTo<M extends string, P extends string> = P extends ApiPath | "/metrics"
  ? Reply<Answer<M, P>>
  : Reply<Answer<M, P>, Answer<M, P>>;

/**
 * Whether a client types its replies' bodies. "untyped" (any body) marks a test file not yet
 * written against the typed replies: new tests use the default.
 */
export type Bodies = "typed" | "untyped";

export interface UntypedReply {
  status: number;
  body: any;
  headers: Headers;
}

type ReplyFor<B extends Bodies, M extends string, P extends string> = B extends "typed"
  ? ReplyTo<M, P>
  : UntypedReply;

/** Checks a reply's status and, for the compiler, narrows its body to what that status answers. */
export function expectStatus<R extends Reply<unknown, unknown>, S extends R["status"]>(
  reply: R,
  status: S,
): asserts reply is R & { status: S } {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
}

type Succeeded<R> = Extract<R, { status: SuccessStatus }>;

/** Checks that a reply succeeded (any 2xx), narrowing its body to the operation's answer. */
export function expectOk<R extends Reply<unknown, unknown>>(
  reply: R,
): asserts reply is Succeeded<R> {
  expect(reply.status, JSON.stringify(reply.body)).toBeGreaterThanOrEqual(200);
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
}

/** A successful reply's body (the check fails the test otherwise). */
export function bodyOf<R extends Reply<unknown, unknown>>(reply: R): Succeeded<R>["body"] {
  expectOk(reply);
  return reply.body;
}

/**
 * The keys agents were given at registration, and which agent holds which lease: the harness
 * answers as the agent itself would, sending its key on its own calls (a test can override the
 * header to act as someone else).
 */
const agentKeys = new Map<string, string>();
const leaseAgents = new Map<string, string>();

function agentKeyHeader(path: string): Record<string, string> {
  const agent = /^\/api\/v1\/agents\/([^/?]+)/.exec(path)?.[1];
  const lease = /^\/api\/v1\/leases\/([^/?]+)/.exec(path)?.[1];
  const key = agentKeys.get(agent ?? leaseAgents.get(lease ?? "") ?? "");
  return key ? { [AGENT_KEY_HEADER]: key } : {};
}

/** The header an agent registered through the harness sends, for tests that call fetch directly. */
export const agentKeyHeaderOf = (agentId: string): Record<string, string> =>
  agentKeyHeader(`/api/v1/agents/${agentId}`);

function rememberAgentKeys(method: string, path: string, status: number, body: any) {
  if (method !== "POST" || status !== 200 || body === null || typeof body !== "object") return;
  if (path === "/api/v1/agents" && typeof body.key === "string") agentKeys.set(body.id, body.key);
  if (/^\/api\/v1\/agents\/[^/]+\/lease$/.test(path) && typeof body.agent_id === "string") {
    leaseAgents.set(body.id, body.agent_id);
  }
}

/** A client bound to one server and (optionally) one token. */
export interface Client<B extends Bodies = "typed"> {
  /** Never set: it only lets helpers taking any client infer which kind they were given. */
  readonly bodies?: B;
  call<M extends string, P extends string>(
    method: M,
    path: P,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ReplyFor<B, M, P>>;
  get<P extends string>(path: P, headers?: Record<string, string>): Promise<ReplyFor<B, "GET", P>>;
  post<P extends string>(
    path: P,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ReplyFor<B, "POST", P>>;
}

export function client<B extends Bodies = "typed">(baseUrl: string, token?: string): Client<B> {
  async function call<M extends string, P extends string>(
    method: M,
    path: P,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ReplyFor<B, M, P>> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...agentKeyHeader(path),
        ...headers,
      },
      body:
        body === undefined || typeof body === "string" || body instanceof Uint8Array
          ? body
          : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Non-JSON bodies (metrics) stay text.
    }
    rememberAgentKeys(method, path, res.status, parsed);
    return { status: res.status, body: parsed, headers: res.headers } as ReplyFor<B, M, P>;
  }
  return {
    call,
    get: (path, headers) => call("GET", path, undefined, headers),
    post: (path, body = {}, headers) => call("POST", path, body, headers),
  };
}

/** Registers an agent and returns its id. */
export async function registerAgent(
  api: Client<Bodies>,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await api.post("/api/v1/agents", {
    name,
    target: "emulator",
    ...extra,
  });
  if (res.status !== 200)
    throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function submit<B extends Bodies>(
  api: Client<B>,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  return api.post(
    "/api/v1/runs",
    { org_id: "qualgent", app_version_id: "xyz123", ...body },
    headers,
  );
}

/** Starts a leased job and posts its result, as an agent would. */
export async function finishJob<B extends Bodies>(
  api: Client<B>,
  leaseId: string,
  job: { id: string; attempt: number },
  status: "passed" | "failed" | "error" | "timed_out" = "passed",
  extra: Record<string, unknown> = {},
) {
  const started = await api.post(`/api/v1/leases/${leaseId}/jobs/${job.id}/start`, {
    attempt: job.attempt,
  });
  if (started.status !== 200) return started;
  return api.post(`/api/v1/leases/${leaseId}/jobs/${job.id}/result`, {
    attempt: job.attempt,
    status,
    duration_ms: 1000,
    ...extra,
  });
}

/**
 * One server for a whole describe block: started before its first test, closed after its last.
 * Read `.server` and `.api` inside tests (they are set once the suite starts).
 */
export function serverPerSuite<B extends Bodies = "typed">(config: ConfigInput = {}) {
  const suite = {} as { server: TestServer; api: Client<B> };
  beforeAll(async () => {
    suite.server = await startTestServer(config);
    suite.api = client<B>(suite.server.url);
  });
  afterAll(() => suite.server.close());
  return suite;
}

/** A loopback port nothing listens on (fetch refuses "bad ports" such as 9 before connecting). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}
