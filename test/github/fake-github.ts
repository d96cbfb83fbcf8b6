/**
 * GitHub's REST API as nock interceptors: installation tokens, repository contents, trees and
 * tarballs at a commit (a real `git archive` of the commit's files, served as GitHub does: a 302
 * to codeload), commits by ref, and check runs. Every check-run call is recorded with its body so tests
 * assert exactly what qgjob sent. Nothing else reaches the network (nock.disableNetConnect()).
 *
 * Check-run bodies are held to GitHub's documented limits (422 otherwise): summary and text at
 * most 65,535 UTF-8 bytes, at most 50 annotations per request, an annotation's title at most 255
 * characters and its message and raw_details at most 64 KB. `rules` play GitHub's failure modes
 * on check-run calls: rate limits with their headers, a 5xx after the work was done, hanging.
 */
import { execFileSync } from "node:child_process";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import nock from "nock";

export interface CheckCall {
  method: "POST" | "PATCH";
  checkRunId: number;
  repo: string;
  body: Record<string, any>;
  installationId: number;
  at: number;
}

/** A check-run request as it arrived, whatever the answer. */
export interface CheckAttempt {
  method: "POST" | "PATCH";
  installationId: number;
  sha: string | undefined;
  at: number;
  status: number;
}

/** How GitHub answers matching check-run requests, `times` times. */
export interface Rule {
  match: (a: Omit<CheckAttempt, "status" | "at">) => boolean;
  times: number;
  status: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** GitHub did the work before answering (a 502 after the create). */
  done?: boolean;
  /** The answer comes this late (a request that hangs). */
  delayMs?: number;
}

type Answer =
  [number, Record<string, unknown>] | [number, Record<string, unknown>, Record<string, string>];
type Callback = (err: null, answer: Answer) => void;

const MAX_BYTES = 65_535;
const bytes = (s: unknown) => (typeof s === "string" ? Buffer.byteLength(s, "utf8") : 0);

/** What GitHub says about a check-run body outside its limits, or null. */
export function limitProblem(body: any): string | null {
  const out = body?.output;
  if (!out) return null;
  if (bytes(out.summary) > MAX_BYTES)
    return `Invalid request. summary exceeds a maximum bytesize of ${MAX_BYTES}.`;
  if (bytes(out.text) > MAX_BYTES)
    return `Invalid request. text exceeds a maximum bytesize of ${MAX_BYTES}.`;
  const annotations: any[] = out.annotations ?? [];
  if (annotations.length > 50)
    return "Invalid request. Only 50 annotations are allowed per request.";
  for (const a of annotations) {
    if (Array.from(String(a.title ?? "")).length > 255)
      return "Invalid request. annotation title is too long (maximum is 255 characters).";
    if (bytes(a.message) > MAX_BYTES || bytes(a.raw_details) > MAX_BYTES)
      return `Invalid request. annotation message exceeds a maximum bytesize of ${MAX_BYTES}.`;
  }
  return null;
}

/** The installation a request's token belongs to (tokens end in `_<installation id>`). */
const installationOf = (headers: Record<string, unknown>) =>
  Number(/_(\d+)$/.exec(String(headers.authorization ?? ""))?.[1] ?? 0);

/** A test-only App key, made fresh for each test run (never committed). */
export function testPrivateKey(): string {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return privateKey;
}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export class FakeGithub {
  readonly calls: CheckCall[] = [];
  readonly attempts: CheckAttempt[] = [];
  readonly rules: Rule[] = [];
  readonly tokenRequests: number[] = [];
  /** X-GitHub-Api-Version of every repository request (undefined when missing). */
  readonly apiVersions: (string | undefined)[] = [];
  /** sha -> path -> content */
  private readonly commits = new Map<string, Map<string, string>>();
  private readonly refs = new Map<string, string>();
  private nextCheckRunId = 9000;
  /** Tarball downloads per commit sha. */
  readonly archiveReads = new Map<string, number>();
  /** A commit's tarball as given instead of the archive of its files (a hostile repository). */
  readonly archives = new Map<string, Buffer>();
  /** Commits whose contents the installation may not read (a 403, not retried). */
  readonly forbidden = new Set<string>();
  /** Contents reads per commit. */
  readonly contentReads = new Map<string, number>();
  /** Contents reads answer this late (a slow contents API); reads not answered yet. */
  contentDelayMs = 0;
  pendingContentReads = 0;
  /** GitHub having a bad moment: after `okCalls` more check-run calls, `outage` answer 502. */
  outage = 0;
  okCalls = 0;

  private failing(): boolean {
    if (this.outage === 0) return false;
    if (this.okCalls > 0) {
      this.okCalls--;
      return false;
    }
    this.outage--;
    return true;
  }

  /** `prefix`: the API root's path, `/api/v3` on GitHub Enterprise Server. */
  constructor(origin = "https://api.github.com", prefix = "") {
    const scope = nock(origin).persist();
    const at = (pattern: string) => new RegExp(`^${prefix}${pattern}`);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- nock binds `this` to the request
    const fake = this;
    scope.post(at("/app/installations/(\\d+)/access_tokens$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
      const id = Number(/installations\/(\d+)/.exec(uri)![1]);
      this.tokenRequests.push(id);
      return [
        201,
        {
          token: `ghs_testinstallationtoken_${id}`,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { checks: "write", contents: "read", metadata: "read" },
          repository_selection: "all",
        },
      ];
    });
    scope.get(at("/repos/[^/]+/[^/]+/contents/.+$")).reply(function (fullUri, _body, cb) {
      fake.apiVersions.push(this.req.headers["x-github-api-version"] as string | undefined);
      const answer = fake.content(fullUri.slice(prefix.length));
      if (fake.contentDelayMs === 0) return cb(null, answer);
      fake.pendingContentReads++;
      setTimeout(() => {
        fake.pendingContentReads--;
        cb(null, answer);
      }, fake.contentDelayMs);
    });
    scope.get(at("/repos/[^/]+/[^/]+/git/trees/\\w+\\?recursive=1$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
      const sha = /trees\/(\w+)/.exec(uri)![1]!;
      const files = this.commits.get(sha);
      if (!files) return [404, { message: "Not Found" }];
      const tree = [...files.keys()].map((path) => ({ path, mode: "100644", type: "blob" }));
      return [200, { sha, truncated: false, tree }];
    });
    // GitHub answers a tarball request with a redirect to a short-lived codeload URL.
    const codeload = origin === "https://api.github.com" ? "https://codeload.github.com" : origin;
    scope.get(at("/repos/[^/]+/[^/]+/tarball/\\w+$")).reply((fullUri) => {
      const [, , owner, repo, , ref] = fullUri.slice(prefix.length).split("/");
      const to = `${codeload}/_codeload/${owner}/${repo}/legacy.tar.gz/${ref}?token=T${ref}`;
      return [302, "", { location: to }];
    });
    nock(codeload)
      .persist()
      .get(/^\/_codeload\/[^/]+\/[^/]+\/legacy\.tar\.gz\/\w+\?token=\w+$/)
      .reply((uri) => {
        const [, , owner, repo, , sha] = uri.split("?")[0]!.split("/");
        this.archiveReads.set(sha!, (this.archiveReads.get(sha!) ?? 0) + 1);
        const tarball = this.archive(`${owner}-${repo}`, sha!);
        if (!tarball) return [404, "Not Found"];
        return [200, tarball, { "content-type": "application/x-gzip" }];
      });
    scope.get(at("/repos/[^/]+/[^/]+/commits/\\w+/check-runs\\?.*$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
      const url = new URL(uri, "https://x");
      const sha = url.pathname.split("/")[5]!;
      const name = url.searchParams.get("check_name");
      const runs = this.checkRuns(sha).filter((c) => !name || c.name === name);
      return [200, { total_count: runs.length, check_runs: runs }];
    });
    scope.get(at("/repos/[^/]+/[^/]+/commits/.+$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
      const ref = decodeURIComponent(uri.split("/commits/")[1]!);
      const sha = this.refs.get(ref);
      return sha ? [200, { sha }] : [404, { message: "No commit found" }];
    });
    scope.post(at("/repos/[^/]+/[^/]+/check-runs$")).reply(function (fullUri, body, cb) {
      fake.checkRunCall("POST", fullUri.slice(prefix.length), body, this.req.headers, cb);
    });
    scope.patch(at("/repos/[^/]+/[^/]+/check-runs/\\d+$")).reply(function (fullUri, body, cb) {
      fake.checkRunCall("PATCH", fullUri.slice(prefix.length), body, this.req.headers, cb);
    });
  }

  /** The commit's files as `git archive` packs them, under `<owner>-<repo>-<short sha>/`. */
  private archive(name: string, sha: string): Buffer | null {
    const given = this.archives.get(sha);
    if (given) return given;
    const files = this.commits.get(sha);
    if (!files) return null;
    const dir = mkdtempSync(join(tmpdir(), "qgjob-fake-github-"));
    try {
      for (const [path, text] of files) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
      }
      const git = (...args: string[]) =>
        execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
          cwd: dir,
          stdio: ["ignore", "pipe", "ignore"],
        });
      git("init", "-q");
      git("add", "-A", "-f");
      git("commit", "-q", "-m", sha);
      return git("archive", "--format=tar.gz", `--prefix=${name}-${sha.slice(0, 7)}/`, "HEAD");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private content(uri: string): Answer {
    const url = new URL(uri, "https://x");
    const path = decodeURIComponent(url.pathname.split("/contents/")[1]!);
    const ref = url.searchParams.get("ref") ?? "";
    this.contentReads.set(ref, (this.contentReads.get(ref) ?? 0) + 1);
    if (this.forbidden.has(ref))
      return [403, { message: "Resource not accessible by integration" }];
    const content = this.commits.get(ref)?.get(path);
    if (content === undefined) return [404, { message: "Not Found" }];
    return [
      200,
      {
        type: "file",
        encoding: "base64",
        path,
        name: path.split("/").pop(),
        content: Buffer.from(content).toString("base64"),
      },
    ];
  }

  private checkRunCall(
    method: "POST" | "PATCH",
    uri: string,
    rawBody: unknown,
    headers: Record<string, unknown>,
    cb: Callback,
  ) {
    this.apiVersions.push(headers["x-github-api-version"] as string | undefined);
    const body = rawBody as Record<string, any>;
    const installationId = installationOf(headers);
    const patchedId = Number(uri.split("/").pop());
    const sha = method === "POST" ? body.head_sha : this.shaOf(patchedId);
    const attempt = { method, installationId, sha };
    const rule = this.rules.find((r) => r.times > 0 && r.match(attempt));
    const record = (): Answer => {
      const checkRunId = method === "POST" ? this.nextCheckRunId++ : patchedId;
      this.calls.push({
        method,
        checkRunId,
        repo: repoOf(uri),
        body,
        installationId,
        at: Date.now(),
      });
      return [method === "POST" ? 201 : 200, { id: checkRunId, ...body }];
    };
    let answer: Answer;
    const problem = limitProblem(body);
    if (rule) {
      rule.times--;
      if (rule.done) record();
      answer = [rule.status, rule.body ?? { message: "Server Error" }, rule.headers ?? {}];
    } else if (problem) {
      answer = [422, { message: problem }];
    } else if (this.failing()) {
      answer = [502, { message: "Server Error" }];
    } else {
      answer = record();
    }
    this.attempts.push({ ...attempt, at: Date.now(), status: answer[0] });
    if (rule?.delayMs) setTimeout(() => cb(null, answer), rule.delayMs);
    else cb(null, answer);
  }

  private shaOf(checkRunId: number): string | undefined {
    return this.calls.find((c) => c.method === "POST" && c.checkRunId === checkRunId)?.body
      .head_sha;
  }

  /** A commit with these files; `ref` (e.g. refs/heads/main) points at it. */
  commit(sha: string, files: Record<string, string>, ref?: string) {
    this.commits.set(sha, new Map(Object.entries(files)));
    // The commits API knows refs as `heads/main`, as GitHub documents it.
    if (ref) this.refs.set(ref.replace(/^refs\//, ""), sha);
  }

  files(sha: string): Record<string, string> {
    return Object.fromEntries(this.commits.get(sha) ?? []);
  }

  /** The check runs on a commit as GitHub would list them: each with its latest status. */
  checkRuns(sha: string) {
    return this.calls
      .filter((c) => c.method === "POST" && c.body.head_sha === sha)
      .map((created) => {
        const updates = this.calls.filter((c) => c.checkRunId === created.checkRunId);
        const status = updates
          .map((c) => c.body.status)
          .filter(Boolean)
          .pop();
        return {
          id: created.checkRunId,
          name: created.body.name,
          external_id: created.body.external_id,
          status,
        };
      });
  }

  /** The check-run calls about one commit: its creates and the updates of what they created. */
  callsFor(sha: string): CheckCall[] {
    const ids = new Set(
      this.calls
        .filter((c) => c.method === "POST" && c.body.head_sha === sha)
        .map((c) => c.checkRunId),
    );
    return this.calls.filter((c) => ids.has(c.checkRunId));
  }
}

const repoOf = (uri: string) => uri.split("/").slice(2, 4).join("/");

export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Posts a webhook as GitHub does; `sign: null` leaves the signature out, a string replaces it,
 * and `raw` sends that text instead of the payload's JSON.
 */
export async function postWebhook(
  serverUrl: string,
  event: string,
  payload: unknown,
  opts: { id: string; secret: string; sign?: string | null; raw?: string },
) {
  const body = opts.raw ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-github-event": event,
    "x-github-delivery": opts.id,
    "user-agent": "GitHub-Hookshot/044aadd",
  };
  const sig = opts.sign === undefined ? signature(opts.secret, body) : opts.sign;
  if (sig !== null) headers["x-hub-signature-256"] = sig;
  const res = await fetch(`${serverUrl}/api/github/webhooks`, { method: "POST", headers, body });
  return { status: res.status, body: (await res.json()) as any };
}
