import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client.js";
import { ActionError, errorLine } from "./errors.js";
import { InputError } from "./inputs.js";

const api = (
  kind: ApiError["kind"],
  status: number | null,
  code: string,
  detail: string,
  reason?: string,
) =>
  new ApiError(
    kind,
    "POST",
    "https://qgjob.example.com/api/v1/runs",
    status,
    code,
    detail,
    undefined,
    reason,
  );

describe("error lines", () => {
  it("are one line, prefixed, and say what to check", () => {
    expect(errorLine(new InputError("missing required input: org-id"))).toBe(
      "qgjob: missing required input: org-id",
    );
    expect(errorLine(new ActionError("stopped\nby SIGINT"))).toBe("qgjob: stopped by SIGINT");
    expect(errorLine(api("network", null, "unreachable", "cannot reach", "ECONNREFUSED"))).toBe(
      "qgjob: cannot reach the qgjob server at https://qgjob.example.com (ECONNREFUSED); check server-url and that this runner can reach it",
    );
    expect(errorLine(api("timeout", null, "timeout", "no answer within 30000 ms"))).toBe(
      "qgjob: the qgjob server at https://qgjob.example.com did not answer (no answer within 30000 ms)",
    );
    expect(errorLine(api("http", 401, "unauthorized", "invalid token"))).toBe(
      "qgjob: the server at https://qgjob.example.com refused the api-token (401 unauthorized: invalid token); check the secret holding it",
    );
    expect(errorLine(api("http", 403, "forbidden", "needs scope submit"))).toMatch(
      /^qgjob: the api-token may not do this \(403 forbidden: needs scope submit\); it needs the submit and read scopes$/,
    );
    expect(errorLine(api("http", 404, "not_found", "no such org"))).toMatch(/check org-id/);
    expect(errorLine(api("http", 400, "invalid_request", "tests/0: bad"))).toBe(
      "qgjob: the server refused the request (400 invalid_request: tests/0: bad)",
    );
    expect(errorLine(api("http", 500, "internal", "oops"))).toBe(
      "qgjob: server error from POST https://qgjob.example.com/api/v1/runs (500 internal: oops)",
    );
    expect(
      errorLine(api("invalid_response", 200, "invalid_response", "unexpected answer")),
    ).toMatch(/is server-url a qgjob server\?$/);
    expect(errorLine(new Error("a\n  b"))).toBe("qgjob: a b");
  });
});
