/**
 * Logs never carry the App's private key, the webhook secret, an installation token, the JWT or a
 * webhook's payload, even at trace level, while the App handles a push, reports a check run and
 * fails a delivery; a failure's line names the delivery, the event and the error. Every API
 * request says which API version it is written for, to a base URL that may be plain http on
 * loopback (GITHUB_API_URL).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import nock from "nock";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../app/config.js";
import { startServer } from "../../app/server.js";
import { tempDir } from "../harness.js";
import { FakeGithub, postWebhook, testPrivateKey, until } from "./fake-github.js";
import { pushPayload } from "./payloads.js";

const SECRET = "webhook-secret-never-logged";
let lines = "";

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

it("keeps secrets and payloads out of the logs", async () => {
  const api = "http://127.0.0.1:9";
  const github = new FakeGithub(api);
  const key = testPrivateKey();
  const sha = "5".repeat(40);
  github.commit(sha, { ".github/qgjob.yml": "tests: [a.sh]\n", "a.sh": "exit 0\n" });
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines += chunk.toString();
      done();
    },
  });
  const dir = tempDir();
  const config = loadConfig(
    { host: "127.0.0.1", port: 0, db: join(dir, "qgjob.db"), logLevel: "trace" },
    {
      APP_ID: "1234",
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: SECRET,
      QGJOB_GITHUB_UPDATE_INTERVAL_S: "0.2",
      GITHUB_API_URL: api,
    },
  );
  const server = await startServer(config, pino({ level: "trace" }, sink));
  try {
    const res = await postWebhook(server.url, "push", pushPayload("acme", "mobile", sha), {
      id: "logs-1",
      secret: SECRET,
    });
    expect(res.status).toBe(202);
    await until("the check run", () => github.callsFor(sha)[0]);

    // A delivery that fails: its payload (author emails, commit messages) stays out of the logs.
    const refused = "6".repeat(40);
    github.commit(refused, { ".github/qgjob.yml": "tests: [a.sh]\n" });
    github.forbidden.add(refused);
    const failing = await postWebhook(server.url, "push", pushPayload("acme", "mobile", refused), {
      id: "logs-refused",
      secret: SECRET,
    });
    expect(failing.status).toBe(202);
    await until("the failure's log line", () => lines.includes("GitHub delivery failed"));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(lines).toContain("GitHub App webhooks at /api/github/webhooks");
  expect(lines).toContain("GitHub trigger queued runs");
  const keyLine = key.split("\n")[1]!;
  for (const secret of [keyLine, SECRET, "ghs_testinstallationtoken", "eyJ"]) {
    expect(lines).not.toContain(secret);
  }
  for (const fromPayload of ["mona@github.com", "Add the onboarding tests", "GitHub-Hookshot"]) {
    expect(lines).not.toContain(fromPayload);
  }
  const failed = lines
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === "GitHub delivery failed");
  expect(failed).toMatchObject({
    delivery: "logs-refused",
    event: "push",
    error: "403: Resource not accessible by integration",
  });
  expect(JSON.stringify(failed).length).toBeLessThan(1000);
  expect(github.apiVersions.length).toBeGreaterThan(0);
  expect(new Set(github.apiVersions)).toEqual(new Set(["2022-11-28"]));
});
