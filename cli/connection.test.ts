import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client.js";
import { describeApiError, pickTarget, resolveToken, resolveUrl } from "./connection.js";

const err = (
  kind: ApiError["kind"],
  status: number | null,
  code: string,
  detail: string,
  url = "http://127.0.0.1:8000/api/v1/jobs/job_x",
  reason?: string,
) => new ApiError(kind, "GET", url, status, code, detail, undefined, reason);

describe("describeApiError", () => {
  it("an unreachable server is one line naming the server and the cause, exit 3", () => {
    const e = describeApiError(
      err(
        "network",
        null,
        "unreachable",
        "cannot reach the server (ECONNREFUSED)",
        undefined,
        "ECONNREFUSED",
      ),
    );
    expect(e).toMatchObject({
      exitCode: 3,
      message: "cannot reach the server at http://127.0.0.1:8000 (ECONNREFUSED)",
    });
  });

  it("timeouts, 5xx and invalid answers are server errors (3)", () => {
    expect(
      describeApiError(err("timeout", null, "timeout", "no answer within 15000 ms")),
    ).toMatchObject({
      exitCode: 3,
      message: "the server at http://127.0.0.1:8000 did not answer (no answer within 15000 ms)",
    });
    expect(describeApiError(err("http", 500, "internal", "oops")).exitCode).toBe(3);
    expect(describeApiError(err("http", 503, "http_503", "Service Unavailable")).exitCode).toBe(3);
    expect(describeApiError(err("http", 429, "rate_limited", "too many requests")).exitCode).toBe(
      3,
    );
    expect(describeApiError(err("invalid_response", 200, "invalid_response", "bad")).exitCode).toBe(
      3,
    );
  });

  it("a 4xx is the caller's mistake (2), with the server's words", () => {
    expect(describeApiError(err("http", 404, "not_found", "job job_x not found"))).toMatchObject({
      exitCode: 2,
      message: "job job_x not found [404 not_found]",
    });
    expect(describeApiError(err("http", 422, "unprocessable", "no such thing")).exitCode).toBe(2);
    expect(describeApiError(err("http", 401, "unauthorized", "invalid API token")).message).toBe(
      "invalid API token [401 unauthorized] (set --token or QGJOB_TOKEN)",
    );
  });
});

describe("resolveUrl and resolveToken", () => {
  it("takes the flag, then QGJOB_URL, then the default; an empty variable counts as unset", () => {
    expect(resolveUrl({ url: "http://a:1" }, { QGJOB_URL: "http://b:2" })).toBe("http://a:1");
    expect(resolveUrl({}, { QGJOB_URL: "http://b:2" })).toBe("http://b:2");
    expect(resolveUrl({}, { QGJOB_URL: "" })).toBe("http://127.0.0.1:8000");
  });

  it("refuses what is not an http(s) URL, naming where it came from", () => {
    expect(() => resolveUrl({ url: "localhost:8000" }, {})).toThrow(/^--url: expected an http/);
    expect(() => resolveUrl({}, { QGJOB_URL: "not a url" })).toThrow(/^QGJOB_URL: expected a URL/);
  });

  it("takes the token from the flag, then QGJOB_TOKEN", () => {
    expect(resolveToken({ token: "a" }, { QGJOB_TOKEN: "b" })).toBe("a");
    expect(resolveToken({}, { QGJOB_TOKEN: "b" })).toBe("b");
    expect(resolveToken({}, { QGJOB_TOKEN: "" })).toBeUndefined();
  });
});

describe("resolveUrl", () => {
  it("takes a URL copied with the API's root or a trailing slash without doubling it", () => {
    expect(resolveUrl({ url: "http://h:8000/api/v1" })).toBe("http://h:8000");
    expect(resolveUrl({ url: "http://h:8000/api/v1/" })).toBe("http://h:8000");
    expect(resolveUrl({ url: "https://h/qgjob/" })).toBe("https://h/qgjob");
  });
});

describe("pickTarget", () => {
  const run = "run_01JD8ZK3V4QH6T2X0M9B5C7R1E";
  it("wants exactly one well-formed id", () => {
    expect(pickTarget({ runId: run })).toEqual({ kind: "run", id: run });
    expect(() => pickTarget({})).toThrow(/give a run or job id \(run_… or job_…\)/);
    expect(() => pickTarget({ runId: run, jobId: run })).toThrow(/not both/);
    expect(() => pickTarget({ jobId: "42" })).toThrow(
      /--job-id: expected a job id such as job_01JD…/,
    );
  });

  it("tells a run from a job by the id's prefix, and names the mix-up", () => {
    const job = "job_01JD8ZK3V4QH6T2X0M9B5C7R1E";
    expect(pickTarget({}, run)).toEqual({ kind: "run", id: run });
    expect(pickTarget({}, job)).toEqual({ kind: "job", id: job });
    expect(() => pickTarget({ jobId: run })).toThrow(
      `--job-id: '${run}' is a run id, not a job id (give it as --run-id, or just the id)`,
    );
    expect(() => pickTarget({ runId: job })).toThrow(/is a job id, not a run id/);
    expect(() => pickTarget({}, "agt_01JD8ZK3V4QH6T2X0M9B5C7R1E")).toThrow(
      /expected a run_… or job_… id/,
    );
    expect(() => pickTarget({}, job, "run")).toThrow(`'${job}' is a job id, not a run id`);
    expect(() => pickTarget({ runId: run }, run)).toThrow(/once, as an argument or a flag/);
  });
});
