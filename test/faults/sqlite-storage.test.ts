/**
 * The SQLite file under a running server: renamed away, on a full disk (a 2 MB tmpfs mounted by
 * the test, which runs as root in CI), and opened by a second server. Nothing acknowledged may be missing afterwards; while the file cannot take
 * writes they answer 503 `storage_unavailable` with Retry-After and /readyz fails; the server
 * recovers by itself once the file can be written again.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bodyOf, client, startTestServer, submit, tempDir, type Client } from "../harness.js";
import { holdLease, until } from "./api-agent.js";

/** Submits `n` runs; answers the acknowledged run ids and the refusals' status and code. */
async function submitMany(api: Client, n: number, tag: string) {
  const acked: string[] = [];
  const refused: { status: number; code: string | undefined; retryAfter: string | null }[] = [];
  for (let i = 0; i < n; i++) {
    const res = await submit(api, {
      org_id: "acme",
      app_version_id: `${tag}-${i}`,
      tests: [`a-${"x".repeat(400)}.spec.ts`, `b-${"y".repeat(400)}.spec.ts`],
    });
    if (res.status === 201) acked.push(res.body.id);
    else
      refused.push({
        status: res.status,
        code: "error" in res.body ? res.body.error.code : undefined,
        retryAfter: res.headers.get("retry-after"),
      });
  }
  return { acked, refused };
}

async function stored(api: Client, ids: string[]) {
  let found = 0;
  for (const id of ids) if ((await api.get(`/api/v1/runs/${id}`)).status === 200) found++;
  return found;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("the SQLite file under a running server", () => {
  it("refuses writes once its file is renamed away, and takes them again once it is back", async () => {
    const dir = tempDir("qgjob-faults-moved-");
    dirs.push(dir);
    const server = await startTestServer({}, dir);
    const api = client(server.url);
    const before = await submitMany(api, 5, "before");
    renameSync(server.db, `${server.db}.moved`);
    const during = await submitMany(api, 20, "during");
    const ready = await api.get("/readyz");
    renameSync(`${server.db}.moved`, server.db);
    await until("writes are taken again", async () => (await api.get("/readyz")).status === 200);
    const after = await submitMany(api, 5, "after");
    await server.stop();

    const again = await startTestServer({}, dir);
    const api2 = client(again.url);
    const acked = [...before.acked, ...during.acked, ...after.acked];
    const found = await stored(api2, acked);
    await again.stop();
    console.log(
      `database renamed away: ${during.acked.length} of 20 submissions acknowledged meanwhile ` +
        `(${during.refused.length} refused 503), /readyz ${ready.status}; after a restart ` +
        `${found} of ${acked.length} acknowledged runs exist`,
    );
    expect(found).toBe(acked.length);
    expect(during.acked).toHaveLength(0);
    expect(during.refused[0]).toEqual({
      status: 503,
      code: "storage_unavailable",
      retryAfter: "5",
    });
    expect(ready.status).toBe(503);
    expect(after.acked).toHaveLength(5);
  });

  it("answers 503 on a full disk, and recovers by itself", async () => {
    const dir = tempDir("qgjob-faults-full-");
    dirs.push(dir);
    const mount = join(dir, "tmpfs");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mount]);
    try {
      const server = await startTestServer({}, mount);
      const api = client(server.url);
      const held = await holdLease(api, "full-disk", { start: true });
      // Fill the disk but for a little room: the database grows into it. The room is measured,
      // not assumed: the database's own size grows with every migration.
      const ballast = join(mount, "ballast");
      const free = statfsSync(mount);
      writeFileSync(ballast, Buffer.alloc(Math.max(0, free.bavail * free.bsize - 128 * 1024)));
      const full = await submitMany(api, 200, "full");
      const postResult = () =>
        api.post(`/api/v1/leases/${held.leaseId}/jobs/${held.job.id}/result`, {
          attempt: held.job.attempt,
          status: "passed",
          duration_ms: 10,
          log_tail: "z".repeat(60_000),
        });
      const result = await postResult();
      const readyFull = await api.get("/readyz");
      rmSync(ballast);
      await until("ready again once there is room", async () => {
        return (await api.get("/readyz")).status === 200;
      });
      const afterFull = await submitMany(api, 10, "after-full");
      // The agent retries its 503: the result lands, the job passes on its first attempt.
      const retried = await postResult();
      const job = bodyOf(await api.get(`/api/v1/jobs/${held.job.id}`));

      const acked = [...full.acked, ...afterFull.acked];
      await server.stop();
      const again = await startTestServer({}, mount);
      const found = await stored(client(again.url), acked);
      await again.stop();

      const codes = new Set(full.refused.map((r) => `${r.status} ${r.code}`));
      console.log(
        `full disk (2 MB tmpfs): ${full.acked.length} of 200 submissions acknowledged, ` +
          `${full.refused.length} refused as ${[...codes].join(", ")}; a result posted meanwhile ` +
          `${result.status} (retried after: ${retried.status}, job ${job.status}); /readyz ${readyFull.status}; after room was made ${afterFull.acked.length} of 10 ` +
          `acknowledged; after a restart ${found} of ${acked.length} acknowledged runs exist`,
      );
      expect(full.refused.length).toBeGreaterThan(0);
      expect([...codes]).toEqual(["503 storage_unavailable"]);
      expect(full.refused.every((r) => r.retryAfter === "5")).toBe(true);
      expect(result.status).toBe(503);
      expect(retried.status).toBe(200);
      expect(job).toMatchObject({ status: "passed", attempts: 1 });
      expect(readyFull.status).toBe(503);
      expect(afterFull.acked).toHaveLength(10);
      expect(found).toBe(acked.length);
    } finally {
      execFileSync("umount", ["-l", mount]);
    }
  });

  it("has a second server on the same file refuse to start", async () => {
    const dir = tempDir("qgjob-faults-twice-");
    dirs.push(dir);
    const first = await startTestServer({}, dir);
    const second = await startTestServer({}, dir).then(
      async (s) => {
        await s.stop();
        return null;
      },
      (err: Error) => err.message,
    );
    await first.stop();
    // Once the first has stopped, the file is free again.
    const third = await startTestServer({}, dir);
    await third.stop();
    console.log(`second server on one SQLite file: ${second ?? "started (both running)"}`);
    expect(second).toMatch(/another qgjob server is using .*qgjob\.db/);
  });
});
