/**
 * Test processes die with their agent: a SIGKILLed agent leaves no process of its test behind
 * (its watchdog ends the group), and an agent restarted after agent and watchdog were both
 * killed ends the leftovers (its pidfile) before it registers. The same holds for the Appium
 * server of an agent owning its device session (`--udid`, Appium 3 with the fake driver).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_DIR, freePort, installExamples, stubAndroid } from "../appwright-env.js";
import { client, submit, tempDir, type Client } from "../harness.js";
import { killAll, spawnQgjob, spawnServer } from "../processes.js";

const MARKER = `qgjob-orphans-${process.pid}`;

function pids(marker: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map(Number);
  } catch {
    return [];
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("test processes of a killed agent", () => {
  let dir: string;
  let url: string;
  let api: Client;

  beforeAll(async () => {
    dir = tempDir("qgjob-faults-orphans-");
    // A test with a background child and a foreground one, as a shell test or npx would have.
    const node = `"${process.execPath}" -e "setInterval(() => {}, 1000)"`;
    writeFileSync(
      join(dir, "tree.sh"),
      `${node} ${MARKER}-$(basename "$0" .sh)-bg &\n${node} ${MARKER}-$(basename "$0" .sh)-fg\n`,
    );
    for (const name of ["killed", "restarted"])
      writeFileSync(join(dir, `${name}.sh`), `exec sh "${join(dir, "tree.sh")}" "$@"\n`);
    const server = await spawnServer(["--db", join(dir, "qgjob.db")], {
      QGJOB_LEASE_TTL_S: "2",
      QGJOB_REAP_INTERVAL_S: "0.3",
    });
    url = server.url;
    api = client(url);
  });
  afterAll(() => {
    killAll();
    for (const pid of pids(`${MARKER}-`)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const agent = (test: string) =>
    spawnQgjob([
      ...["agent", "--url", url, "--name", `agent-${test}`, "--target", "device"],
      ...["--device", test, "--lease-wait", "1s", "--verbose", "--json"],
      ...["--runner", "command", "--command", `sh ${test}.sh`, "--project-dir", dir],
      ...["--state-dir", join(dir, "state")],
    ]);

  async function running(test: string) {
    const a = agent(test);
    const run = await submit(api, {
      org_id: "acme",
      app_version_id: test,
      target: "device",
      device: test,
      tests: [`${test}.sh`],
    });
    expect(run.status).toBe(201);
    await until("both test processes run", () => pids(`${MARKER}-tree-`).length === 2);
    return a;
  }

  it("leaves no process of its test alive 1 s after the agent's SIGKILL", async () => {
    const a = await running("killed");
    const before = pids(`${MARKER}-tree-`).length;
    a.child.kill("SIGKILL");
    await a.exited;
    await sleep(1000);
    const after = pids(`${MARKER}-tree-`).length;
    console.log(
      `orphans: ${after} of ${before} test processes alive 1 s after the agent's SIGKILL`,
    );
    expect(after).toBe(0);
  });

  it("has a restarted agent kill what its killed predecessor and watchdog left, before registering", async () => {
    const first = await running("restarted");
    // Agent and watchdog both gone (a kill of everything): only the pidfile knows the test.
    const watchdog = /"watchdog":(\d+)/.exec(first.output())?.[1];
    expect(watchdog).toBeDefined();
    process.kill(Number(watchdog), "SIGKILL");
    first.child.kill("SIGKILL");
    await first.exited;
    await sleep(500);
    const left = pids(`${MARKER}-tree-`).length;
    const second = agent("restarted");
    await until("the restarted agent registers", () => second.output().includes('"registered"'));
    const log = second.output();
    await sleep(500);
    const after = pids(`${MARKER}-tree-`).length;
    console.log(
      `orphans: ${left} test processes left by an agent killed with its watchdog; ` +
        `${after} alive once its successor registered`,
    );
    expect(left).toBe(2);
    expect(log.indexOf("killed test processes a previous agent left")).toBeGreaterThan(-1);
    expect(log.indexOf("killed test processes")).toBeLessThan(log.indexOf('"registered"'));
    expect(after).toBe(0);
    second.child.kill("SIGKILL");
  });
});

describe("the Appium server of a killed agent", () => {
  let dir: string;
  let url: string;
  let android: ReturnType<typeof stubAndroid>;

  beforeAll(async () => {
    installExamples();
    android = stubAndroid();
    dir = tempDir("qgjob-faults-appium-");
    mkdirSync(join(dir, "cache", ".devices", "fake-a"), { recursive: true });
    url = (await spawnServer(["--db", join(dir, "qgjob.db")])).url;
  }, 300_000);
  afterAll(() => {
    killAll();
    android?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const agent = (port: number) =>
    spawnQgjob(
      [
        ...["agent", "--url", url, "--name", "appium-owner", "--target", "emulator"],
        ...["--lease-wait", "1s", "--verbose", "--json", "--state-dir", join(dir, "state")],
        ...["--runner", "appwright", "--project", "android-emu", "--project-dir", EXAMPLE_DIR],
        ...["--cache-dir", join(dir, "cache"), "--udid", "fake-a", "--appium-platform", "fake"],
        ...["--appium-port", String(port), "--appium-home", EXAMPLE_DIR],
      ],
      android.env,
    );
  /** The Appium server listening on the port (its command line names the port). */
  const appium = (port: number) =>
    pids(`appium/index.js server --address 127.0.0.1 --port ${port} `);

  async function withAppium(port: number) {
    const a = agent(port);
    let code: number | null | undefined;
    void a.exited.then((c) => (code = c));
    await until(
      "the agent registers, its Appium up",
      () => {
        // An agent that gave up says why: fail with its words, not after the whole wait.
        if (code !== undefined) throw new Error(`the agent exited (${code}):\n${a.output()}`);
        return a.output().includes('"registered"');
      },
      180_000,
    );
    expect(appium(port)).toHaveLength(1);
    return a;
  }

  it("leaves no Appium server alive a few seconds after the agent's SIGKILL", async () => {
    const port = await freePort();
    const a = await withAppium(port);
    const [pid] = appium(port);
    a.child.kill("SIGKILL");
    await a.exited;
    const killedAt = Date.now();
    await until("the Appium server is gone", () => appium(port).length === 0, 5000).catch(
      () => undefined,
    );
    console.log(
      `orphans: Appium ${pid} ${appium(port).length === 0 ? "gone" : "still alive"} ${Date.now() - killedAt} ms after the agent's SIGKILL`,
    );
    expect(appium(port)).toEqual([]);
  }, 240_000);

  it("has a restarted agent kill the Appium server its killed predecessor and watchdog left", async () => {
    const port = await freePort();
    const first = await withAppium(port);
    const [left] = appium(port);
    const watchdog = /"watchdog":(\d+)/.exec(first.output())?.[1];
    expect(watchdog).toBeDefined();
    process.kill(Number(watchdog), "SIGKILL");
    first.child.kill("SIGKILL");
    await first.exited;
    await sleep(1000);
    expect(appium(port)).toEqual([left]); // nothing else would have ended it
    const second = await withAppium(port);
    const log = second.output();
    expect(log).toContain("killed test processes a previous agent left");
    expect(appium(port)).not.toContain(left);
    second.child.kill("SIGTERM");
    await second.exited;
  }, 300_000);
});
