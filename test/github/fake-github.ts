/**
 * GitHub's REST API as nock interceptors: installation tokens, repository contents and trees at a
 * commit, commits by ref, and check runs. Every check-run call is recorded with its body so tests
 * assert exactly what qgjob sent. Nothing else reaches the network (nock.disableNetConnect()).
 */
import { createHmac, generateKeyPairSync } from "node:crypto";
import nock from "nock";

export interface CheckCall {
  method: "POST" | "PATCH";
  checkRunId: number;
  repo: string;
  body: Record<string, any>;
}

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
  readonly tokenRequests: number[] = [];
  /** sha -> path -> content */
  private readonly commits = new Map<string, Map<string, string>>();
  private readonly refs = new Map<string, string>();
  private nextCheckRunId = 9000;
  /** Commits whose contents the installation may not read (a 403, not retried). */
  readonly forbidden = new Set<string>();
  /** Contents reads per commit. */
  readonly contentReads = new Map<string, number>();
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
    scope.post(at("/app/installations/(\\d+)/access_tokens$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
      this.tokenRequests.push(Number(/installations\/(\d+)/.exec(uri)![1]));
      return [
        201,
        {
          token: "ghs_testinstallationtoken",
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { checks: "write", contents: "read", metadata: "read" },
          repository_selection: "all",
        },
      ];
    });
    scope.get(at("/repos/[^/]+/[^/]+/contents/.+$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
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
    });
    scope.get(at("/repos/[^/]+/[^/]+/git/trees/\\w+\\?recursive=1$")).reply((fullUri) => {
      const uri = fullUri.slice(prefix.length);
      const sha = /trees\/(\w+)/.exec(uri)![1]!;
      const files = this.commits.get(sha);
      if (!files) return [404, { message: "Not Found" }];
      const tree = [...files.keys()].map((path) => ({ path, mode: "100644", type: "blob" }));
      return [200, { sha, truncated: false, tree }];
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
    scope.post(at("/repos/[^/]+/[^/]+/check-runs$")).reply((fullUri, body) => {
      const uri = fullUri.slice(prefix.length);
      if (this.failing()) return [502, { message: "Server Error" }];
      const checkRunId = this.nextCheckRunId++;
      this.calls.push({ method: "POST", checkRunId, repo: repoOf(uri), body: body as any });
      return [201, { id: checkRunId, ...(body as object) }];
    });
    scope.patch(at("/repos/[^/]+/[^/]+/check-runs/\\d+$")).reply((fullUri, body) => {
      const uri = fullUri.slice(prefix.length);
      if (this.failing()) return [502, { message: "Server Error" }];
      const checkRunId = Number(uri.split("/").pop());
      this.calls.push({ method: "PATCH", checkRunId, repo: repoOf(uri), body: body as any });
      return [200, { id: checkRunId, ...(body as object) }];
    });
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
