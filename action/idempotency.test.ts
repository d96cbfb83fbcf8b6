import { describe, expect, it } from "vitest";
import type { SubmitRunRequest } from "../api/schemas.js";
import { githubContext } from "./context.js";
import { idempotencyKey } from "./idempotency.js";

const env = {
  GITHUB_REPOSITORY: "qualgent/demo",
  GITHUB_RUN_ID: "1234",
  GITHUB_RUN_ATTEMPT: "1",
  GITHUB_JOB: "e2e",
  GITHUB_ACTION: "__qualgent_qgjob-action",
};
const request: SubmitRunRequest = {
  org_id: "acme",
  app_version_id: "v1",
  tests: ["tests/a.spec.ts"],
  source: "action",
};
const key = (over: Record<string, string> = {}, req = request) =>
  idempotencyKey(githubContext({ ...env, ...over }, "/w"), req);

describe("idempotency key", () => {
  it("is the same for the same step of the same run attempt asking the same thing", () => {
    expect(key()).toBe(key());
    expect(key()).toMatch(/^gha:qualgent\/demo:1234:1:e2e:__qualgent_qgjob-action:[0-9a-f]{16}$/);
  });

  it("differs by run, attempt, job, step and request", () => {
    const keys = [
      key(),
      key({ GITHUB_RUN_ID: "1235" }),
      key({ GITHUB_RUN_ATTEMPT: "2" }),
      key({ GITHUB_JOB: "other" }),
      key({ GITHUB_ACTION: "__qualgent_qgjob-action_2" }),
      key({}, { ...request, target: "device" }),
      key({ GITHUB_REPOSITORY: "qualgent/other" }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("is undefined outside GitHub (the client then makes a random one)", () => {
    expect(key({ GITHUB_RUN_ID: "" })).toBeUndefined();
  });

  it("fits the server's rule: 1-255 visible ASCII characters", () => {
    const long = key({ GITHUB_JOB: "j ob\u00e9".repeat(100) })!;
    expect(long).toMatch(/^[\x21-\x7e]{1,255}$/);
    expect(key({ GITHUB_JOB: "j ob" })).toMatch(/^[\x21-\x7e]+$/);
  });
});
