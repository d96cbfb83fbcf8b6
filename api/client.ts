/**
 * The typed HTTP client of the qgjob API, shared by the CLI, the agent and the Action. It never
 * loads server code. Responses are parsed with the same zod schemas the server answers with.
 *
 * Retries: network errors, 429 and 502/503/504 are retried with exponential backoff and jitter
 * (a 429 no sooner than the server's Retry-After). A
 * submission always carries an Idempotency-Key (generated when the caller gives none), so a retry
 * after a lost answer returns the first run instead of creating a second one.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { LeaseDevice, type LeaseDeviceRequest } from "./devices.js";
import {
  AGENT_KEY_HEADER,
  Agent,
  CreatedToken,
  ERROR_HEADERS,
  ErrorBody,
  HeartbeatResponse,
  Job,
  Lease,
  Page,
  Quarantine,
  QueueOverview,
  RegisteredAgent,
  ReleaseResponse,
  RerunFailedResponse,
  ResultResponse,
  Run,
  RunWithJobs,
  TestDetail,
  TestSummary,
  Token,
  type CreateTokenRequest,
  type ListTestsQuery,
  type QuarantineRequest,
  type ListJobsQuery,
  type ListRunsQuery,
  type RegisterAgentRequest,
  type RerunFailedRequest,
  type ResultRequest,
  type SubmitJobRequest,
  type SubmitRunRequest,
} from "./schemas.js";
import { LogChunksResponse, type LogChunksRequest } from "./logs.js";
import { readSse, type SseEvent } from "./sse.js";
import { Blob as BlobSchema, BlobKind, type Blob, type BlobUploadQuery } from "./blobs.js";
import { JobArtifacts } from "./artifacts.js";

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  token?: string | undefined;
  /** Per request, on top of any long-poll wait (default 30 s). */
  timeoutMs?: number;
  /** Retries after the first try (default 4). */
  retries?: number;
  /** First backoff delay (default 250 ms); doubles each retry, capped at 5 s. */
  backoffMs?: number;
  userAgent?: string;
  /** Told about each retry, e.g. to log it. */
  onRetry?: (info: { attempt: number; delayMs: number; error: ApiError }) => void;
}

export type ApiErrorKind = "http" | "network" | "timeout" | "aborted" | "invalid_response";

/** A failed call, saying what was called, where, and what came back. */
export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    readonly method: string,
    readonly url: string,
    readonly status: number | null,
    readonly code: string,
    /** The server's message (or what went wrong on the way), without the call prefix. */
    readonly detail: string,
    readonly details?: unknown,
    /** For network errors: the system's reason, e.g. ECONNREFUSED. */
    readonly reason?: string,
  ) {
    super(`${method} ${url}: ${status === null ? "" : `${status} `}${code}: ${detail}`);
    this.name = "ApiError";
  }

  /** Worth trying again: the server may not have seen it, or is briefly unable to answer. */
  get retryable(): boolean {
    return (
      this.kind === "network" ||
      this.kind === "timeout" ||
      (this.status !== null && [429, 502, 503, 504].includes(this.status))
    );
  }

  /** How long the server asked us to wait (a 429's `details.retry_after_s`), if it did. */
  get retryAfterMs(): number {
    const s = (this.details as { retry_after_s?: unknown } | undefined)?.retry_after_s;
    return typeof s === "number" && s > 0 ? Math.min(s, 60) * 1000 : 0;
  }
}

interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  /** Extra time the server may legitimately hold the request (long polls). */
  holdMs?: number;
  /** Whether a retry is safe. Every qgjob route is, except as noted at its method. */
  retry?: boolean;
  /** Gives up on the call (e.g. an agent shutting down while it long-polls). */
  signal?: AbortSignal | undefined;
  /** A raw body instead of JSON; `open` is called once per try, so a retry sends it again. */
  upload?: { open: () => NodeJS.ReadableStream & Readable; bytes: number };
}

export interface StreamOptions {
  /** Resume after this event (the `id` of the last event seen). */
  lastEventId?: string | null | undefined;
  signal?: AbortSignal | undefined;
  /** Give up when nothing (not even the server's ping) arrived for this long (default 45 s). */
  idleMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class QgjobClient {
  private readonly baseUrl: string;
  /** Set by registerAgent: an agent's later calls prove they come from that registration. */
  private agentKey: string | undefined;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
  }

  // ---- runs and jobs ----

  submitRun(req: SubmitRunRequest, idempotencyKey: string = randomUUID()) {
    return this.call(RunWithJobs, "POST", "/api/v1/runs", {
      body: req,
      headers: { "idempotency-key": idempotencyKey },
    });
  }

  submitJob(req: SubmitJobRequest, idempotencyKey: string = randomUUID()) {
    return this.call(Job, "POST", "/api/v1/jobs", {
      body: req,
      headers: { "idempotency-key": idempotencyKey },
    });
  }

  /** The run with every current job (results summarised), its pages read one after another. */
  async getRun(id: string) {
    return this.restOfRun(await this.getRunPage(id));
  }

  /** One page of the run's jobs; `cursor` is the `jobs_next_cursor` of the page before. */
  getRunPage(id: string, query: { jobs_limit?: number; jobs_cursor?: string } = {}) {
    return this.call(RunWithJobs, "GET", `/api/v1/runs/${encodeURIComponent(id)}`, { query });
  }

  /** A run's first page completed with the pages after it (the counts are the first page's). */
  private async restOfRun(first: RunWithJobs): Promise<RunWithJobs> {
    const jobs = [...first.jobs];
    for (let cursor = first.jobs_next_cursor; cursor;) {
      const next = await this.getRunPage(first.id, { jobs_cursor: cursor });
      jobs.push(...next.jobs);
      cursor = next.jobs_next_cursor;
    }
    return first.jobs_next_cursor ? { ...first, jobs, jobs_next_cursor: null } : first;
  }

  getJob(id: string) {
    return this.call(Job, "GET", `/api/v1/jobs/${encodeURIComponent(id)}`);
  }

  listRuns(query: Partial<ListRunsQuery> = {}) {
    return this.call(Page(Run), "GET", "/api/v1/runs", { query });
  }

  listJobs(query: Partial<ListJobsQuery> = {}) {
    return this.call(Page(Job), "GET", "/api/v1/jobs", { query });
  }

  /** Long-polls until the run ends or `timeoutS` passes; answers the run either way. */
  async waitRun(id: string, timeoutS: number) {
    const first = await this.call(
      RunWithJobs,
      "GET",
      `/api/v1/runs/${encodeURIComponent(id)}/wait`,
      { query: { timeout_s: timeoutS }, holdMs: timeoutS * 1000 },
    );
    return this.restOfRun(first);
  }

  waitJob(id: string, timeoutS: number) {
    return this.call(Job, "GET", `/api/v1/jobs/${encodeURIComponent(id)}/wait`, {
      query: { timeout_s: timeoutS },
      holdMs: timeoutS * 1000,
    });
  }

  cancelRun(id: string) {
    return this.call(Run, "POST", `/api/v1/runs/${encodeURIComponent(id)}/cancel`, { body: {} });
  }

  rerunFailed(id: string, req: RerunFailedRequest = {}) {
    return this.call(
      RerunFailedResponse,
      "POST",
      `/api/v1/runs/${encodeURIComponent(id)}/rerun-failed`,
      { body: req },
    );
  }

  cancelJob(id: string) {
    return this.call(Job, "POST", `/api/v1/jobs/${encodeURIComponent(id)}/cancel`, { body: {} });
  }

  queue() {
    return this.call(QueueOverview, "GET", "/api/v1/queue");
  }

  listAgents() {
    return this.call(z.object({ items: z.array(Agent) }), "GET", "/api/v1/agents");
  }

  undrainAgent(id: string) {
    return this.call(Agent, "POST", `/api/v1/agents/${encodeURIComponent(id)}/undrain`, {
      body: {},
    });
  }

  // ---- test history and quarantines ----

  listTests(
    query: Partial<Omit<z.input<typeof ListTestsQuery>, "limit">> & { limit?: number } = {},
  ) {
    return this.call(Page(TestSummary), "GET", "/api/v1/tests", { query });
  }

  getTest(id: string) {
    return this.call(TestDetail, "GET", `/api/v1/tests/${encodeURIComponent(id)}`);
  }

  listQuarantines() {
    return this.call(z.object({ items: z.array(Quarantine) }), "GET", "/api/v1/quarantines");
  }

  /** Repeating it is harmless: it replaces the test's quarantine with the same one. */
  quarantineTest(req: QuarantineRequest) {
    return this.call(Quarantine, "POST", "/api/v1/quarantines", { body: req });
  }

  /** Not retried: a repeat of a call whose answer was lost would say 404 (already ended). */
  unquarantineTest(req: { org_id?: string; test_path: string }) {
    return this.call(z.null(), "POST", "/api/v1/quarantines/end", { body: req, retry: false });
  }

  // ---- tokens (admin) ----

  listTokens() {
    return this.call(z.object({ items: z.array(Token) }), "GET", "/api/v1/tokens");
  }

  /** Not retried: a token created while its answer was lost would be a second token. */
  createToken(req: CreateTokenRequest) {
    return this.call(CreatedToken, "POST", "/api/v1/tokens", { body: req, retry: false });
  }

  revokeToken(id: string) {
    return this.call(Token, "POST", `/api/v1/tokens/${encodeURIComponent(id)}/revoke`, {
      body: {},
    });
  }

  // ---- agents ----

  /** Acts as the agent that was given `key` (a restarted agent finishing its earlier results). */
  useAgentKey(key: string) {
    this.agentKey = key;
  }

  /** Registers, and from then on sends the agent key the answer carries on every call. */
  async registerAgent(req: RegisterAgentRequest) {
    const agent = await this.call(RegisteredAgent, "POST", "/api/v1/agents", { body: req });
    this.agentKey = agent.key;
    return agent;
  }

  heartbeat(agentId: string, leaseId?: string) {
    return this.call(
      HeartbeatResponse,
      "POST",
      `/api/v1/agents/${encodeURIComponent(agentId)}/heartbeat`,
      {
        body: leaseId ? { lease_id: leaseId } : {},
      },
    );
  }

  /**
   * Asks for work, waiting up to `waitS`; null when none came. Not retried: a lease granted
   * while its answer was lost shows up as 409 lease_active on the next ask (with its id).
   */
  async lease(agentId: string, waitS: number, signal?: AbortSignal) {
    const lease = await this.call(
      Lease.nullable(),
      "POST",
      `/api/v1/agents/${encodeURIComponent(agentId)}/lease`,
      { body: { wait_s: waitS }, holdMs: waitS * 1000, retry: false, signal },
    );
    return lease;
  }

  startJob(leaseId: string, jobId: string, attempt: number) {
    return this.call(
      Job,
      "POST",
      `/api/v1/leases/${encodeURIComponent(leaseId)}/jobs/${encodeURIComponent(jobId)}/start`,
      {
        body: { attempt },
      },
    );
  }

  /** Posting the same result twice is harmless, so this is retried like the rest. */
  reportResult(leaseId: string, jobId: string, result: ResultRequest) {
    return this.call(
      ResultResponse,
      "POST",
      `/api/v1/leases/${encodeURIComponent(leaseId)}/jobs/${encodeURIComponent(jobId)}/result`,
      { body: result },
    );
  }

  /**
   * A running test's output, in numbered chunks. Not retried here: the agent keeps unsent
   * chunks for its next flush (repeating a post is harmless).
   */
  postLog(leaseId: string, jobId: string, req: LogChunksRequest, signal?: AbortSignal) {
    return this.call(
      LogChunksResponse,
      "POST",
      `/api/v1/leases/${encodeURIComponent(leaseId)}/jobs/${encodeURIComponent(jobId)}/log`,
      { body: req, signal, retry: false },
    );
  }

  /** A job's output as server-sent events, until the job finishes (app/http/routes/logs.ts). */
  jobLogEvents(id: string, opts: StreamOptions = {}) {
    return this.stream(`/api/v1/jobs/${encodeURIComponent(id)}/log/events`, opts);
  }

  /** A run's job changes as server-sent events, until it finishes (app/http/routes/events.ts). */
  runEvents(id: string, opts: StreamOptions = {}) {
    return this.stream(`/api/v1/runs/${encodeURIComponent(id)}/events`, opts);
  }

  /** The agent's push channel: cancels of the lease's jobs and its revocation, as they happen. */
  leaseEvents(leaseId: string, opts: StreamOptions = {}) {
    return this.stream(`/api/v1/leases/${encodeURIComponent(leaseId)}/events`, opts);
  }

  /** What the device did for the lease; posting it again replaces it. */
  reportLeaseDevice(leaseId: string, req: LeaseDeviceRequest) {
    return this.call(LeaseDevice, "POST", `/api/v1/leases/${encodeURIComponent(leaseId)}/device`, {
      body: req,
    });
  }

  release(leaseId: string) {
    return this.call(
      ReleaseResponse,
      "POST",
      `/api/v1/leases/${encodeURIComponent(leaseId)}/release`,
      {
        body: {},
      },
    );
  }

  // ---- blobs (test bundles, app builds, evidence) ----

  /**
   * Uploads a file as the blob named by its SHA-256, streamed from disk. When the org holds the
   * hash already (a re-run) nothing is sent: a HEAD answers first. Safe to retry: the name is
   * the content. `uploaded` says whether the bytes went over the wire.
   */
  async uploadBlob(
    file: { path: string; sha256: string; bytes: number },
    query: BlobUploadQuery,
  ): Promise<Blob & { uploaded: boolean }> {
    const held = await this.statBlob(file.sha256);
    if (held) return { ...held, uploaded: false };
    const blob = await this.call(BlobSchema, "PUT", `/api/v1/blobs/${file.sha256}`, {
      query,
      upload: { open: () => createReadStream(file.path), bytes: file.bytes },
      // Bodies of up to hundreds of MB: time the exchange by its size, not the JSON default.
      holdMs: Math.ceil(file.bytes / 1_000_000) * 1000,
    });
    return { ...blob, uploaded: true };
  }

  /** The blob's size and kind, or null when the caller has no such blob. */
  async statBlob(sha256: string): Promise<Blob | null> {
    try {
      const { res } = await this.send("HEAD", `/api/v1/blobs/${sha256}`, {}, "*/*");
      return {
        sha256,
        size: Number(res.headers.get("content-length")),
        kind: BlobKind.parse(res.headers.get("x-qgjob-blob-kind")),
      };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** Streams the blob (or one byte range of it) into `path`. No overall timeout: a large build
   * takes as long as it takes; `signal` gives up. */
  async downloadBlob(
    sha256: string,
    path: string,
    opts: { range?: { start: number; end: number }; signal?: AbortSignal } = {},
  ): Promise<void> {
    const headers: Record<string, string> = {};
    if (opts.range) headers.range = `bytes=${opts.range.start}-${opts.range.end}`;
    await this.save(`/api/v1/blobs/${sha256}`, { headers, signal: opts.signal }, path);
  }

  // ---- evidence ----

  /** A job's evidence, per attempt. `sig`: a signed link's token instead of the API token. */
  /**
   * `sig`: a signed link's token instead of the API token; `share`: ask for signed urls to hand
   * to people without a token.
   */
  listArtifacts(jobId: string, opts: { sig?: string; share?: boolean } = {}) {
    return this.call(JobArtifacts, "GET", `/api/v1/jobs/${encodeURIComponent(jobId)}/artifacts`, {
      query: { sig: opts.sig, share: opts.share ? "true" : undefined },
    });
  }

  /** Streams one attempt's artifact (its list index) into `path`. */
  async downloadArtifact(
    ref: { jobId: string; attempt: number; index: number; sig?: string },
    path: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.save(
      `/api/v1/jobs/${encodeURIComponent(ref.jobId)}/attempts/${ref.attempt}/artifacts/${ref.index}`,
      { query: { sig: ref.sig }, signal: opts.signal },
      path,
    );
  }

  // ---- transport ----

  /** A GET whose body is streamed into a file; no overall timeout (`signal` gives up). */
  private async save(urlPath: string, opts: CallOptions, path: string): Promise<void> {
    const { res } = await this.send("GET", urlPath, opts, "*/*", null);
    await pipeline(Readable.fromWeb(res.body! as WebReadableStream), createWriteStream(path));
  }

  private async call<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<z.output<S>> {
    const retries = opts.retry === false ? 0 : (this.opts.retries ?? 4);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(schema, method, path, opts);
      } catch (err) {
        if (!(err instanceof ApiError) || !err.retryable || attempt >= retries) throw err;
        const base = (this.opts.backoffMs ?? 250) * 2 ** attempt;
        const delayMs = Math.max(
          err.retryAfterMs,
          Math.min(5000, base) * (0.5 + Math.random() / 2),
        );
        this.opts.onRetry?.({ attempt: attempt + 1, delayMs, error: err });
        await sleep(delayMs);
      }
    }
  }

  private async once<S extends z.ZodType>(
    schema: S,
    method: string,
    path: string,
    opts: CallOptions,
  ): Promise<z.output<S>> {
    const { res, where } = await this.send(method, path, opts, "application/json");
    const json = parseJson(await res.text());
    const parsed = schema.safeParse(res.status === 204 ? null : json);
    if (!parsed.success) {
      throw new ApiError(
        "invalid_response",
        method,
        where,
        res.status,
        "invalid_response",
        `unexpected answer: ${parsed.error.issues[0]?.message ?? "does not match the API"}`,
      );
    }
    return parsed.data;
  }

  /** Opens an event stream; failing to open it is an ApiError like any call's. */
  private async stream(path: string, opts: StreamOptions): Promise<AsyncGenerator<SseEvent>> {
    const headers: Record<string, string> = {};
    if (opts.lastEventId) headers["last-event-id"] = opts.lastEventId;
    // No overall timeout: a stream lasts as long as what it follows. The server pings every
    // 15 s; `idleMs` gives up on a connection that went silent (a dead peer, a stuck proxy).
    const idle = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal;
    const { res } = await this.send("GET", path, { headers, signal }, "text/event-stream", null);
    const idleMs = opts.idleMs ?? 45_000;
    let timer = setTimeout(() => idle.abort(), idleMs);
    const body = res.body!.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          clearTimeout(timer);
          timer = setTimeout(() => idle.abort(), idleMs);
          out.enqueue(chunk);
        },
        flush: () => clearTimeout(timer),
      }),
    );
    signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    // A reader that stops early (the job's `end` event) must not leave the timer holding the
    // process open for idleMs.
    return (async function* () {
      try {
        yield* readSse(body);
      } finally {
        clearTimeout(timer);
      }
    })();
  }

  /** One HTTP exchange up to an OK response; network trouble and error answers as ApiError. */
  private async send(
    method: string,
    path: string,
    opts: CallOptions,
    accept: string,
    timeoutMs: number | null = (this.opts.timeoutMs ?? 30_000) + (opts.holdMs ?? 0),
  ): Promise<{ res: Response; where: string }> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const where = url.toString();
    const signals = [opts.signal, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)];
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: this.headers(accept, opts),
        body: opts.upload
          ? // An async iterable: fetch pulls it as it sends, so a large file is never queued whole.
            opts.upload.open()
          : opts.body === undefined
            ? undefined
            : JSON.stringify(opts.body),
        signal: AbortSignal.any(signals.filter((s) => s !== undefined)),
        ...(opts.upload ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      throw unanswered(err, method, where, opts.signal, timeoutMs);
    }
    if (res.ok) return { res, where };
    throw await refusal(res, method, where);
  }

  private headers(accept: string, opts: CallOptions): Record<string, string> {
    const headers: Record<string, string> = {
      accept,
      "user-agent": this.opts.userAgent ?? "qgjob-client",
      ...opts.headers,
    };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (this.agentKey) headers[AGENT_KEY_HEADER] = this.agentKey;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    if (opts.upload) {
      headers["content-type"] = "application/octet-stream";
      headers["content-length"] = String(opts.upload.bytes);
    }
    return headers;
  }
}

/** A call that got no answer: given up by the caller, timed out, or the server not reached. */
function unanswered(
  err: unknown,
  method: string,
  where: string,
  signal: AbortSignal | undefined,
  timeoutMs: number | null,
): ApiError {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (signal?.aborted) {
    return new ApiError("aborted", method, where, null, "aborted", "the call was given up");
  }
  if (e.name === "TimeoutError") {
    return new ApiError(
      "timeout",
      method,
      where,
      null,
      "timeout",
      `no answer within ${timeoutMs} ms`,
    );
  }
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  return new ApiError(
    "network",
    method,
    where,
    null,
    "unreachable",
    `cannot reach the server (${cause})`,
    undefined,
    cause,
  );
}

/**
 * An error answer as an ApiError: the error format when the body has it; for HEAD (no body) the
 * error headers; otherwise the start of whatever came (a proxy's page).
 */
async function refusal(res: Response, method: string, where: string): Promise<ApiError> {
  const text = await res.text();
  const body = ErrorBody.safeParse(parseJson(text));
  if (body.success) {
    const { code, message, details } = body.data.error;
    return new ApiError("http", method, where, res.status, code, message, details);
  }
  const headed = res.headers.get(ERROR_HEADERS.code);
  if (method === "HEAD" && headed) {
    const raw = res.headers.get(ERROR_HEADERS.message) ?? "";
    let message = raw;
    try {
      message = decodeURIComponent(raw);
    } catch {
      // kept as sent
    }
    return new ApiError("http", method, where, res.status, headed, message || res.statusText);
  }
  return new ApiError(
    "http",
    method,
    where,
    res.status,
    `http_${res.status}`,
    text.slice(0, 200) || res.statusText,
  );
}

function parseJson(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
