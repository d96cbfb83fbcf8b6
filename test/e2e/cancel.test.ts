/**
 * Cancel reaches the device through the push channel, not the next heartbeat (40 s with the
 * default lease TTL): `qgjob server`, a `qgjob agent` running a shell test that traps TERM, and
 * 20 cancels, each timed from the cancel request to the moment no process of the test is left.
 * Then the same with two replicas on Postgres, the agent on one and the cancel sent to the other.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timeCancel } from "../cancel-probe.js";
import { client, tempDir, type Client } from "../harness.js";
import { killAll, spawnQgjob, spawnServer } from "../processes.js";
import { createTestSchema, enginesUnderTest } from "../store/engines.js";

const CANCELS = 20;
/** Far below the 40 s heartbeat: fails only when a cancel waited for one. */
const BOUND_MS = 10_000;
const MARKER = `qgjob-cancel-${process.pid}`;

let dir: string;

beforeAll(() => {
  dir = tempDir("qgjob-cancel-");
  mkdirSync(join(dir, "tests"));
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function cancelOnce(submitVia: Client, cancelVia: Client, name: string): Promise<number> {
  const t = await timeCancel(dir, submitVia, cancelVia, name, BOUND_MS);
  expect(t.cancelStatus).toBe(200);
  expect(t.written).toContain("died");
  expect(t.jobStatus).toBe("cancelled");
  return t.ms;
}

function startAgent(url: string, name: string) {
  return spawnQgjob([
    ...["agent", "--url", url, "--name", name, "--lease-wait", "2s"],
    ...["--target", "device", "--runner", "command", "--command", "sh {test}"],
    ...["--project-dir", dir],
  ]);
}

async function cancelMany(submitVia: Client, cancelVia: Client, tag: string) {
  const times: number[] = [];
  for (let i = 0; i < CANCELS; i++) {
    times.push(await cancelOnce(submitVia, cancelVia, `${MARKER}-${tag}-${i}`));
  }
  console.log(
    `cancel to process gone (${tag}, ${CANCELS} cancels): p50 ${pct(times, 50).toFixed(0)} ms, ` +
      `p99 ${pct(times, 99).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`,
  );
  for (const t of times) expect(t).toBeLessThan(BOUND_MS);
}

describe("cancel of a running test", () => {
  it("kills its processes within moments of the request, 20 times (SQLite)", async () => {
    const server = await spawnServer(["--db", join(dir, "qgjob.db")]);
    startAgent(server.url, "dev-1");
    await cancelMany(client(server.url), client(server.url), "sqlite");
  }, 120_000);
});

const postgres = (await enginesUnderTest()).some((e) => e.name === "postgres");
describe.runIf(postgres)("cancel sent to another replica (Postgres)", () => {
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  afterAll(async () => {
    killAll();
    await schema?.drop();
  });

  it("reaches the agent through the change feed, 20 times", async () => {
    schema = await createTestSchema();
    const env = { DATABASE_URL: schema.url, QGJOB_PG_POOL_MAX: "4" };
    const [a, b] = await Promise.all([spawnServer([], env), spawnServer([], env)]);
    startAgent(a!.url, "dev-pg");
    await cancelMany(client(a!.url), client(b!.url), "postgres");
  }, 120_000);
});
