/**
 * Graceful shutdown with real processes. SIGTERM on the server answers what is in flight, exits
 * 0 and leaves a database needing no recovery (no WAL file left); SIGTERM on an agent lets the
 * running test finish within --drain-grace, posts its result, gives the rest back and exits 0.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { bodyOf, client, expectStatus, registerAgent, submit, tempDir } from "../harness.js";
import { killAll, spawnQgjob, spawnServer, untilReceived } from "../processes.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("SIGTERM", () => {
  const dir = tempDir("qgjob-faults-term-");
  afterAll(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("on the server: answers in-flight requests, exits 0, and leaves no WAL to recover", async () => {
    const db = join(dir, "server.db");
    const server = await spawnServer(["--db", db]);
    const api = client(server.url);
    const waiting = await submit(api, { tests: ["w.spec.js"] });
    expectStatus(waiting, 201);
    const agent = await registerAgent(api, "idle", { target: "browserstack" });
    const polls = [
      api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 30 }),
      api.get(`/api/v1/runs/${waiting.body.id}/wait?timeout_s=30`),
    ] as const;
    await untilReceived(api, "POST /api/v1/agents/:id/lease");
    await untilReceived(api, "GET /api/v1/runs/:id/wait");
    // Submissions racing the shutdown: each is answered 201 (and kept), or 503 unavailable (a
    // client retries it), or never accepted at all.
    const racing = Array.from({ length: 40 }, (_, i) =>
      submit(api, { tests: [`race-${i}.spec.js`] }).catch(() => null),
    );
    server.child.kill("SIGTERM");
    const [lease, wait] = await Promise.all(polls);
    expect(lease.status).toBe(204);
    expectStatus(wait, 200);
    expect(wait.body.status).toBe("queued");
    expect(await server.exited).toBe(0);
    const answered = (await Promise.all(racing)).filter((r) => r !== null);
    for (const r of answered) {
      if (r.status === 503) expect(r.body.error.code).toBe("unavailable");
      else expect(r.status).toBe(201);
    }
    const accepted = answered.flatMap((r) => (r.status === 201 ? [r.body.id] : []));

    expect(existsSync(`${db}-wal`)).toBe(false);
    const reopened = new Database(db, { readonly: true });
    try {
      expect(reopened.pragma("integrity_check", { simple: true })).toBe("ok");
      const stored = new Set(reopened.prepare("SELECT id FROM runs").pluck().all());
      for (const id of [waiting.body.id, ...accepted]) expect(stored.has(id)).toBe(true);
    } finally {
      reopened.close();
    }
  });

  it("on an agent: the running test finishes and is reported, the rest goes back, exit 0", async () => {
    const project = join(dir, "agent-project");
    rmSync(project, { recursive: true, force: true });
    mkdirSync(project);
    writeFileSync(join(project, "slow.sh"), "sleep 2\n");
    writeFileSync(join(project, "next.sh"), "exit 0\n");
    const server = await spawnServer(["--db", join(dir, "agent.db")]);
    const api = client(server.url);
    const run = await submit(api, { tests: ["slow.sh", "next.sh"] });
    expectStatus(run, 201);
    const agent = spawnQgjob([
      ...["agent", "--url", server.url, "--name", "draining", "--target", "emulator"],
      ...["--runner", "command", "--command", "sh {test}", "--project-dir", project],
      ...["--drain-grace", "20s", "--lease-wait", "1s"],
    ]);
    const job = async (path: string) =>
      bodyOf(await api.get(`/api/v1/runs/${run.body.id}`)).jobs.find((j) => j.test_path === path);
    while ((await job("slow.sh"))!.status !== "running") await sleep(100);

    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    expect(await job("slow.sh")).toMatchObject({ status: "passed", attempts: 1 });
    expect(await job("next.sh")).toMatchObject({ status: "queued", attempts: 0, lease_id: null });
  });
});
