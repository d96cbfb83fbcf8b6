/**
 * Test harness: a real qgjob server on a loopback port over a real SQLite file in a temp
 * directory, and a tiny fetch wrapper. Tests talk to it exactly as clients do.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { AGENT_KEY_HEADER } from "../api/schemas.js";
import { loadConfig, type ConfigInput } from "../app/config.js";
import { createLogger, startServer, type RunningServer } from "../app/server.js";

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

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
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
export function client(baseUrl: string, token?: string) {
  async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
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
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
  return {
    call,
    get: <T = any>(path: string, headers?: Record<string, string>) =>
      call<T>("GET", path, undefined, headers),
    post: <T = any>(path: string, body: unknown = {}, headers?: Record<string, string>) =>
      call<T>("POST", path, body, headers),
  };
}

export type Client = ReturnType<typeof client>;

/** Registers an agent and returns its id. */
export async function registerAgent(
  api: Client,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await api.post("/api/v1/agents", { name, target: "emulator", ...extra });
  if (res.status !== 200)
    throw new Error(`register ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

export async function submit(
  api: Client,
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
export async function finishJob(
  api: Client,
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
export function serverPerSuite(config: ConfigInput = {}) {
  const suite = {} as { server: TestServer; api: Client };
  beforeAll(async () => {
    suite.server = await startTestServer(config);
    suite.api = client(suite.server.url);
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
