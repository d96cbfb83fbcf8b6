/**
 * Several devices on one host: two `qgjob agent --udid` processes, each with its own Appium 3
 * server (fake driver) on its own port, run the example's device tests of two app versions at
 * the same time; a bad --udid and a port in use are one line at start, exit 2.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EXAMPLE_DIR,
  freePort,
  installExamples,
  stubAndroid,
  type StubAndroid,
} from "../appwright-env.js";
import { killAll, qgjob, spawnQgjob, spawnServer, type Spawned } from "../processes.js";

let url: string;
let android: StubAndroid;
let dir: string;

function agentArgs(name: string, udid: string, port: number) {
  return [
    ...["agent", "--url", url, "--name", name, "--lease-wait", "2s", "--json"],
    ...["--target", "emulator", "--runner", "appwright", "--project", "android-emu"],
    ...["--project-dir", EXAMPLE_DIR, "--cache-dir", join(dir, "cache")],
    ...["--build", join(EXAMPLE_DIR, "builds", "fake-app-{app_version_id}.apk")],
    ...["--udid", udid, "--appium-platform", "fake", "--appium-port", String(port)],
    ...["--appium-home", EXAMPLE_DIR],
  ];
}

/** The agent's "lease finished" log lines. */
function leases(agent: Spawned): Record<string, unknown>[] {
  return agent
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.msg === "lease finished");
}

beforeAll(async () => {
  installExamples();
  android = stubAndroid();
  dir = mkdtempSync(join(tmpdir(), "qgjob-devices-"));
  for (const udid of ["fake-a", "fake-b"])
    mkdirSync(join(dir, "cache", ".devices", udid), { recursive: true });
  url = (await spawnServer(["--db", join(dir, "qgjob.db")])).url;
}, 600_000);

afterAll(() => {
  killAll();
  android?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("two devices on one host", () => {
  it("two agents, two Appium servers, two versions' device tests at once", async () => {
    const agents = [
      spawnQgjob(agentArgs("dev-a", "fake-a", await freePort()), android.env),
      spawnQgjob(agentArgs("dev-b", "fake-b", await freePort()), android.env),
    ];
    const submit = (version: string) =>
      qgjob([
        ...["submit", "--url", url, "--org-id=qualgent", `--app-version-id=${version}`],
        ...["--test=tests/device/home.spec.ts", "--target=emulator", "--wait", "--timeout=300s"],
      ]);
    const [one, two] = await Promise.all([submit("1.0.0"), submit("2.0.0")]);
    expect(one.code, one.output).toBe(0);
    expect(two.code, two.output).toBe(0);
    // "lease finished" comes right after the last result is posted.
    const deadline = Date.now() + 30_000;
    while (agents.some((a) => leases(a).length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    // Each device took one version: one install there, the file's two tests two sessions.
    for (const finished of agents.map(leases))
      expect(finished).toEqual([expect.objectContaining({ installs: 1, sessions: 2 })]);
  }, 400_000);

  it("a --udid no device answers to: one line, exit 2", async () => {
    const res = await qgjob(agentArgs("dev-x", "fake-x", await freePort()), android.env);
    expect(res.code).toBe(2);
    expect(res.output).toMatch(/no device answers to --udid fake-x/);
  }, 60_000);

  it("an Appium port in use: one line, exit 2", async () => {
    const busy: Server = await new Promise((r) => {
      const s = createServer().listen(0, "127.0.0.1", () => r(s));
    });
    const port = (busy.address() as { port: number }).port;
    const res = await qgjob(agentArgs("dev-y", "fake-a", port), android.env);
    busy.close();
    expect(res.code).toBe(2);
    expect(res.output).toMatch(new RegExp(`Appium port ${port} is in use`));
  }, 120_000);
});
