/**
 * `qgjob server` and `qgjob token create` as real processes: the way operators run them.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { client, expectStatus, registerAgent, submit, tempDir } from "../harness.js";
import { killAll, qgjob, spawnServer, untilReceived } from "../processes.js";

const dirs: string[] = [];

afterEach(() => {
  killAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dbFile() {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, "qgjob.db");
}

describe("qgjob token create", () => {
  it("prints a token once and the server then requires it", async () => {
    const db = dbFile();
    const made = await qgjob([
      "token",
      "create",
      "--org",
      "acme",
      "--scope",
      "submit,read",
      "--db",
      db,
      "--json",
    ]);
    expect(made.code).toBe(0);
    const { token, org_id, scopes } = JSON.parse(made.output);
    expect(token).toMatch(/^qgj_/);
    expect({ org_id, scopes }).toEqual({ org_id: "acme", scopes: ["submit", "read"] });

    const server = await spawnServer(["--db", db]);
    const anonymous = await submit(client(server.url), {
      org_id: "acme",
      tests: ["a.spec.js"],
    });
    expect(anonymous.status).toBe(401);
    const authed = await submit(client(server.url, token), {
      org_id: "acme",
      tests: ["a.spec.js"],
    });
    expect(authed.status).toBe(201);
    server.child.kill("SIGTERM");
    await server.exited;
    expect(server.output()).toContain("qgjob server listening");
    expect(server.output()).not.toContain(token);
  });

  it.each([
    [["token", "create", "--scope", "read"], /--org-id <id> or --fleet/],
    [["token", "create", "--org", "acme", "--scope", "root"], /--scope/],
    [["token", "create", "--org", "a b", "--scope", "read"], /--org/],
    [["token", "create", "--org", "acme"], /required option/],
    [["server", "--port", "seventy"], /port/],
    [["nonsense"], /unknown command/],
  ])("rejects %j with one clear line and exit code 2", async (args, message) => {
    const out = await qgjob([...args, ...(args[0] === "token" ? ["--db", dbFile()] : [])]);
    expect(out.code).toBe(2);
    expect(out.output).toMatch(message);
    expect(out.output).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe("qgjob server", () => {
  it("refuses to listen beyond loopback without tokens", async () => {
    const out = await qgjob(["server", "--host", "0.0.0.0", "--port", "0", "--db", dbFile()]);
    expect(out.code).toBe(2);
    expect(out.output).toMatch(/no API tokens/);
  });

  it("answers in-flight long polls on SIGTERM, exits 0, and keeps every job for the next start", async () => {
    const db = dbFile();
    const first = await spawnServer(["--db", db]);
    const api = client(first.url);
    const run = await submit(api, { tests: ["a.spec.js", "b.spec.js"] });
    expectStatus(run, 201);
    const agent = await registerAgent(api, "idle-agent", { target: "browserstack" });
    const polling = api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 30 });
    await untilReceived(api, "POST /api/v1/agents/:id/lease");

    first.child.kill("SIGTERM");
    expect((await polling).status).toBe(204);
    // Exit code 0 and its last line: it closed by itself (killAll's SIGKILL would leave null).
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain("qgjob server stopped");

    const second = await spawnServer(["--db", db]);
    const again = await client(second.url).get(`/api/v1/runs/${run.body.id}`);
    expectStatus(again, 200);
    expect(again.body.jobs.map((j) => j.id)).toEqual(run.body.jobs.map((j) => j.id));
    expect(again.body.status).toBe("queued");
  });
});
