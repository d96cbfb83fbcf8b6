/**
 * `qgjob server` and `qgjob token create` as real processes: the way operators run them.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { client, registerAgent, submit, tempDir } from "../harness.js";

const CLI = ["--import", "tsx", join(import.meta.dirname, "../../cli/main.ts")];
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function qgjob(args: string[]) {
  const out = spawnSync(process.execPath, [...CLI, ...args], { encoding: "utf8" });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

function dbFile() {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, "qgjob.db");
}

/** Starts `qgjob server` and resolves with its URL once it logs that it listens. */
function startServer(args: string[]): Promise<{
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  logs: () => string;
}> {
  const child = spawn(process.execPath, [...CLI, "server", "--port", "0", ...args], {
    env: { ...process.env, QGJOB_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let stderr = "";
    let stdout = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const logs = () => stdout + stderr;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      stdout += line + "\n";
      const entry = JSON.parse(line);
      if (entry.msg === "qgjob server listening") resolve({ child, url: entry.url, exited, logs });
    });
    void exited.then((code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

describe("qgjob token create", () => {
  it("prints a token once and the server then requires it", async () => {
    const db = dbFile();
    const made = qgjob([
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
    const { token, org_id, scopes } = JSON.parse(made.stdout);
    expect(token).toMatch(/^qgj_/);
    expect({ org_id, scopes }).toEqual({ org_id: "acme", scopes: ["submit", "read"] });

    const server = await startServer(["--db", db]);
    const anonymous = await submit(client(server.url), { org_id: "acme", tests: ["a.spec.js"] });
    expect(anonymous.status).toBe(401);
    const authed = await submit(client(server.url, token), {
      org_id: "acme",
      tests: ["a.spec.js"],
    });
    expect(authed.status).toBe(201);
    server.child.kill("SIGTERM");
    await server.exited;
    expect(server.logs()).toContain("qgjob server listening");
    expect(server.logs()).not.toContain(token);
  });

  it.each([
    [["token", "create", "--scope", "read"], /--org <id> or --fleet/],
    [["token", "create", "--org", "acme", "--scope", "root"], /--scope/],
    [["token", "create", "--org", "a b", "--scope", "read"], /--org/],
    [["token", "create", "--org", "acme"], /required option/],
    [["server", "--port", "seventy"], /port/],
    [["nonsense"], /unknown command/],
  ])("rejects %j with one clear line and exit code 2", (args, message) => {
    const out = qgjob([...args, ...(args[0] === "token" ? ["--db", dbFile()] : [])]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe("qgjob server", () => {
  it("refuses to listen beyond loopback without tokens", () => {
    const out = qgjob(["server", "--host", "0.0.0.0", "--port", "0", "--db", dbFile()]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/no API tokens/);
  });

  it("answers in-flight long polls on SIGTERM, exits 0, and keeps every job for the next start", async () => {
    const db = dbFile();
    const first = await startServer(["--db", db]);
    const api = client(first.url);
    const run = await submit(api, { tests: ["a.spec.js", "b.spec.js"] });
    const agent = await registerAgent(api, "idle-agent", { target: "browserstack" });
    const polling = api.post(`/api/v1/agents/${agent}/lease`, { wait_s: 30 });
    await new Promise((r) => setTimeout(r, 300));

    const t0 = Date.now();
    first.child.kill("SIGTERM");
    expect((await polling).status).toBe(204);
    expect(await first.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);

    const second = await startServer(["--db", db]);
    const again = await client(second.url).get(`/api/v1/runs/${run.body.id}`);
    expect(again.body.jobs.map((j: any) => j.id)).toEqual(run.body.jobs.map((j: any) => j.id));
    expect(again.body.status).toBe("queued");
  });
});
