/**
 * Cancel reaches the device through the push channel, not the next heartbeat (40 s with the
 * default lease TTL): `qgjob server`, a `qgjob agent` running a shell test that traps TERM, and
 * 20 cancels, each timed from the cancel request to the moment no process of the test is left.
 * Then the same with two replicas on Postgres, the agent on one and the cancel sent to the other.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const alive = (pattern: string) => {
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim() !== "";
  } catch {
    return false;
  }
};

async function until(check: () => boolean | Promise<boolean>, ms: number, pollMs = 10) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A test that runs until killed; on TERM it writes that it died, as a real test's teardown would. */
function trapScript(name: string): string {
  const path = `tests/${name}.sh`;
  const out = join(dir, `${name}.out`);
  writeFileSync(
    join(dir, path),
    [
      `trap 'echo died >> "${out}"; exit 143' TERM`,
      `"${process.execPath}" -e "setTimeout(() => {}, 120000)" ${name} &`,
      `echo started > "${out}"`,
      "wait",
      "",
    ].join("\n"),
  );
  return path;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

/** Submits, waits for the test to run, cancels through `cancelVia`; ms until every process went. */
async function cancelOnce(submitVia: Client, cancelVia: Client, name: string): Promise<number> {
  const testPath = trapScript(name);
  const out = join(dir, `${name}.out`);
  const run = await submitVia.post("/api/v1/runs", {
    org_id: "acme",
    app_version_id: "v1",
    target: "device",
    tests: [testPath],
  });
  expect(run.status).toBe(201);
  await until(() => existsSync(out) && alive(name), 30_000);
  const asked = performance.now();
  const cancelled = await cancelVia.post(`/api/v1/runs/${run.body.id}/cancel`);
  expect(cancelled.status).toBe(200);
  await until(() => !alive(name), BOUND_MS);
  const gone = performance.now() - asked;
  expect(readFileSync(out, "utf8")).toContain("died");
  const job = await submitVia.get(`/api/v1/runs/${run.body.id}`);
  expect(job.body.jobs[0].status).toBe("cancelled");
  return gone;
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
