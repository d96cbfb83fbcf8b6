/**
 * `qgjob server`'s log as people and machines read it: one-line pretty logs on a terminal (a
 * real pseudo-terminal through util-linux `script`), pino's JSON on a pipe or by
 * QGJOB_LOG_FORMAT; one listening line with the API and dashboard URLs, a line on shutdown, and
 * the open-mode warning followed by its end once a token exists.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { client, tempDir, expectStatus } from "../harness.js";
import { killAll, spawnServer } from "../processes.js";
import { CLI } from "./cli-process.js";

const dirs: string[] = [];
const terminals: ChildProcess[] = [];
afterEach(() => {
  killAll();
  for (const t of terminals.splice(0)) if (t.exitCode === null) t.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dbFile() {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, "qgjob.db");
}

/** `qgjob server` on a pseudo-terminal; Ctrl-C typed into it stops the server as a person would. */
function serverOnTerminal(db: string, env: NodeJS.ProcessEnv = {}) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, ...CLI, "server", "--port", "0", "--db", db]
    .map(quote)
    .join(" ");
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    QGJOB_LOG_LEVEL: "info",
    TERM: "xterm",
    ...env,
  };
  if (env.QGJOB_LOG_FORMAT === undefined) delete childEnv.QGJOB_LOG_FORMAT;
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    env: childEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
  terminals.push(child);
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const waitFor = async (pattern: RegExp) => {
    for (;;) {
      const m = pattern.exec(out);
      if (m) return m;
      if (child.exitCode !== null) throw new Error(`server exited:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    // Without the terminal's echo of the typed ^C.
    output: () => out.replace(/\r/g, "").replace(/\^C/g, ""),
    waitFor,
    async interrupt() {
      child.stdin.write("\u0003");
      await exited;
    },
  };
}

describe("qgjob server logs", { timeout: 60_000 }, () => {
  it("on a terminal: pretty lines, one listening line with both URLs, open mode's end, shutdown", async () => {
    const server = serverOnTerminal(dbFile());
    const [, url] = await server.waitFor(
      /^\d\d:\d\d:\d\d INFO qgjob server listening url=(http:\/\/127\.0\.0\.1:\d+) /m,
    );
    const made = await client(url!).post("/api/v1/tokens", {
      name: "first",
      org_id: "acme",
      scopes: ["read"],
    });
    expectStatus(made, 201);
    // The next request finds the server closed; it is refused and the log says open mode ended.
    expect((await client(url!).get("/api/v1/runs")).status).toBe(401);
    await server.waitFor(/INFO open mode ended/);
    await server.interrupt();

    const out = server.output();
    const lines = out.split("\n").filter((l) => /^\d\d:\d\d:\d\d [A-Z]+ /.test(l));
    expect(out).not.toContain('{"level"');
    expect(lines.filter((l) => /listening/i.test(l))).toEqual([
      expect.stringContaining(`api=${url}/api/v1 dashboard=${url}/ `),
    ]);
    expect(lines.findIndex((l) => /^\S+ WARN OPEN MODE/.test(l))).toBeGreaterThanOrEqual(0);
    expect(lines.at(-1)).toMatch(new RegExp(`^\\S+ INFO qgjob server stopped url=${url}$`));
    expect(out).not.toContain(made.body.token);
  });

  it("QGJOB_LOG_FORMAT=json keeps JSON on a terminal", async () => {
    const server = serverOnTerminal(dbFile(), { QGJOB_LOG_FORMAT: "json" });
    await server.waitFor(/"msg":"qgjob server listening"/);
    await server.interrupt();
    const lines = server.output().split("\n").filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as { msg: string });
    expect(entries.at(-1)!.msg).toBe("qgjob server stopped");
  });

  it("on a pipe: JSON, with the listening line's url, api and dashboard, and a shutdown line", async () => {
    const server = await spawnServer(["--db", dbFile()]);
    server.child.kill("SIGTERM");
    await server.exited;
    const entries = server
      .output()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const listening = entries.filter((e) => /listening/i.test(String(e.msg)));
    expect(listening).toEqual([
      expect.objectContaining({
        msg: "qgjob server listening",
        url: server.url,
        api: `${server.url}/api/v1`,
        dashboard: `${server.url}/`,
      }),
    ]);
    expect(entries.at(-1)).toMatchObject({ msg: "qgjob server stopped", url: server.url });
  });
});
