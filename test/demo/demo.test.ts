import { existsSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, spawnProcess } from "../processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

afterEach(killAll);

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(true));
  });

describe("npm run demo", () => {
  it("starts a server and an agent, runs the example's tests green, and cleans up", async () => {
    const demo = spawnProcess("npm", ["run", "--silent", "demo"], {
      env: { ...process.env, NO_COLOR: "1" },
      cwd: ROOT,
      group: true,
    });
    const code = await demo.exited;
    const out = demo.output();
    expect(code, out).toBe(0);
    expect(out).toMatch(/agent +│ .*registered .*name=demo-agent/);
    expect(out).toContain("✓ tests/passing.spec.ts");
    expect(out).toContain("✓ tests/welcome.spec.ts");
    expect(out).toMatch(/qgjob +│ run run_\w+ passed/);
    expect(out).toContain("demo: the run passed");

    // Nothing is left behind: the server's port is closed and its database is gone.
    const url = /demo: server on (http:\/\/\S+)/.exec(out)![1]!;
    const dataDir = /database in (\S+)/.exec(out)![1]!;
    expect(out).toContain(`demo: its page on the dashboard: ${url}/runs/run_`);
    expect(await refused(Number(new URL(url).port))).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
  }, 120_000);
});
