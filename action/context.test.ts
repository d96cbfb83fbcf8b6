import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { githubContext } from "./context.js";

const HEAD = "1111111111111111111111111111111111111111";
const MERGE = "2222222222222222222222222222222222222222";

function event(payload: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), "qgjob-event-")), "event.json");
  writeFileSync(path, JSON.stringify(payload));
  return path;
}

describe("where the step runs", () => {
  it("on pull_request: the head commit from the payload, GITHUB_SHA kept as the merge commit", () => {
    const path = event({ pull_request: { number: 7, head: { sha: HEAD } } });
    const env = { GITHUB_SHA: MERGE, GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: path };
    expect(githubContext(env)).toMatchObject({ sha: HEAD, mergeSha: MERGE });
    const target = { ...env, GITHUB_EVENT_NAME: "pull_request_target" };
    expect(githubContext(target)).toMatchObject({ sha: HEAD, mergeSha: MERGE });
  });

  it("elsewhere, or with an unreadable payload: GITHUB_SHA", () => {
    const path = event({ pull_request: { head: { sha: HEAD } } });
    const push = { GITHUB_SHA: MERGE, GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: path };
    expect(githubContext(push)).toMatchObject({ sha: MERGE, mergeSha: undefined });
    const missing = { ...push, GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: "/nope" };
    expect(githubContext(missing)).toMatchObject({ sha: MERGE, mergeSha: undefined });
    const odd = { ...missing, GITHUB_EVENT_PATH: event({ pull_request: { head: { sha: "x" } } }) };
    expect(githubContext(odd)).toMatchObject({ sha: MERGE, mergeSha: undefined });
  });
});
