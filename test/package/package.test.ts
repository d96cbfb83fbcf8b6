/**
 * qgjob as users get it: `npm pack` (which builds), the tarball installed into an empty folder
 * with production dependencies only (scripts/install-package.sh, the Dockerfile's install step),
 * then `npx qgjob ...` from that folder. The Dockerfile's final stage runs on the same install:
 * its environment, entrypoint, command and health check (no Docker engine runs here). The one
 * install compiles better-sqlite3 and takes a minute or two.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bodyOf, client, closedPort, tempDir } from "../harness.js";
import { killAll, listening, spawnProcess, type Spawned } from "../processes.js";
import { imageOf, readStages } from "./dockerfile.js";

const ROOT = resolve(import.meta.dirname, "../..");
const INSTALL_TIMEOUT_MS = 15 * 60_000;
const PROCESS_TEST_TIMEOUT_MS = 90_000;

/**
 * This machine's environment without qgjob settings, and without what `npm test` exports to its
 * scripts (npm_config_local_prefix would point the install at this repository).
 */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(QGJOB_|npm_)/i.test(key) && key !== "INIT_CWD"),
);

const exec = promisify(execFile);
async function run(command: string, args: string[], cwd: string) {
  return exec(command, args, { cwd, env: baseEnv, maxBuffer: 64 * 1024 * 1024 });
}

let dir: string;
let installDir: string;
let packed: string[];

beforeAll(async () => {
  dir = tempDir("qgjob-package-");
  await run("npm", ["pack", "--pack-destination", dir], ROOT);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack left no tarball in ${dir}`);
  const listing = await run("tar", ["-tzf", join(dir, tarball)], dir);
  packed = listing.stdout
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
  installDir = join(dir, "opt-qgjob");
  await run("sh", [join(ROOT, "scripts/install-package.sh"), join(dir, tarball), installDir], dir);
}, INSTALL_TIMEOUT_MS);
afterEach(killAll);
// The install holds thousands of files: removing them is slow on a busy disk.
afterAll(() => rmSync(dir, { recursive: true, force: true }), INSTALL_TIMEOUT_MS);

function npx(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return spawnProcess("npx", ["qgjob", ...args], {
    env: { ...baseEnv, ...env },
    cwd: installDir,
    group: true,
  });
}

async function finished(p: Spawned) {
  return { code: await p.exited, output: p.output() };
}

/** Polls until `check` answers something, or fails after `ms`. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("npm pack", () => {
  it("packs the built JavaScript, the migrations, the bin and the README, and nothing else", () => {
    const migrations = readdirSync(join(ROOT, "app/store/sqlite/migrations")).filter((f) =>
      f.endsWith(".sql"),
    );
    expect(migrations.length).toBeGreaterThan(0);
    expect(packed).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "LICENSE",
        "dist/cli/main.js",
        "dist/app/server.js",
        "dist/agent/runners/appwright/stream-reporter.js",
        "dist/app/store/sqlite/migrations/meta/_journal.json",
        ...migrations.map((m) => `dist/app/store/sqlite/migrations/${m}`),
      ]),
    );
    const unexpected = packed.filter(
      (f) =>
        !/^(package\.json|README\.md|LICENSE|dist\/(app|api|agent|cli|report)\/.+\.(js|sql|json))$/.test(
          f,
        ) || /(\.test\.js|\/testing\.js|_snapshot\.json)$/.test(f),
    );
    expect(unexpected).toEqual([]);
  });
});

describe("the installed package, through npx", () => {
  it(
    "prints its usage and version",
    async () => {
      const help = await finished(npx(["--help"]));
      expect(help.code, help.output).toBe(0);
      for (const command of ["submit", "status", "wait", "cancel", "agent", "server", "token"]) {
        expect(help.output).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
      }
      const version = await finished(npx(["--version"]));
      const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
        version: string;
      };
      expect(version.output).toContain(pkg.version);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    "runs a server that answers /healthz, an agent that registers with it, and a run on that agent",
    async () => {
      const db = join(dir, "npx-data", "qgjob.db");
      const server = await listening(
        npx(["server", "--port", "0", "--db", db], { QGJOB_LOG_LEVEL: "info" }),
      );
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
      expect(existsSync(db)).toBe(true);

      const agent = npx([
        "agent",
        "--url",
        server.url,
        "--target",
        "emulator",
        "--name",
        "packaged-agent",
        "--runner",
        "command",
        "--command",
        "echo running {test}",
      ]);
      const api = client(server.url);
      const registered = await eventually(async () => {
        const agents = bodyOf(await api.get("/api/v1/agents"));
        return agents.items.find((a) => a.name === "packaged-agent");
      }, `the agent to register (its output: ${agent.output()})`);
      expect(registered).toMatchObject({ target: "emulator", state: "idle" });

      const submitted = await finished(
        npx([
          "submit",
          "--url",
          server.url,
          "--org-id",
          "qualgent",
          "--app-version-id",
          "v1",
          "--test",
          "tests/a.spec.ts",
          "--wait",
        ]),
      );
      expect(submitted.code, submitted.output).toBe(0);
      expect(submitted.output).toMatch(/passed/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe("the Dockerfile's image, run on the same install", () => {
  const stages = readStages(join(ROOT, "Dockerfile"));
  const final = stages.at(-1)!;
  const image = imageOf(final);

  it("builds in stages and runs production dependencies only, as a non-root user on /data", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runs = (stage: typeof final) =>
      stage.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    // The tarball is installed by the very script the tests above ran, in a stage of its own.
    expect(
      stages.flatMap(runs).some((r) => /^install-package \S+\.tgz \/opt\/qgjob$/.test(r)),
    ).toBe(true);
    expect(runs(final).filter((r) => /\bnpm\b/.test(r))).toEqual([]);
    expect(image.user).toBeDefined();
    expect(image.user).not.toMatch(/^(root|0)(:|$)/);
    expect(image.env).toMatchObject({ HOST: "0.0.0.0", NODE_ENV: "production" });
    expect(image.env.QGJOB_DB).toMatch(/^\/data\//);
    expect(image.volumes).toContain("/data");
    expect(image.entrypoint[0]).toBe("/opt/qgjob/node_modules/.bin/qgjob");
    expect(image.cmd).toEqual(["server"]);
    expect(image.healthcheck.length).toBeGreaterThan(0);
  });

  it(
    "refuses to start without a token, then starts with one and passes its health check",
    async () => {
      const port = await closedPort();
      const data = join(dir, "volume-data");
      // The image's paths, on this machine: /opt/qgjob is the install, /data a temp folder.
      const local = (value: string) =>
        value.replace(/^\/opt\/qgjob/, installDir).replace(/^\/data(?=\/|$)/, data);
      const env: NodeJS.ProcessEnv = {
        ...baseEnv,
        ...Object.fromEntries(Object.entries(image.env).map(([k, v]) => [k, local(v)])),
        PORT: String(port),
      };
      const container = (args: string[]) =>
        spawnProcess(local(image.entrypoint[0]!), [...image.entrypoint.slice(1), ...args], {
          env,
          cwd: local(image.workdir ?? "/opt/qgjob"),
        });
      const healthcheck = () =>
        finished(
          spawnProcess(image.healthcheck[0]!, image.healthcheck.slice(1), { env, cwd: installDir }),
        );

      const refused = await finished(container(image.cmd));
      expect(refused.code, refused.output).toBe(2);
      expect(refused.output).toContain("no API tokens");
      expect((await healthcheck()).code).toBe(1);

      const created = await finished(
        container(["token", "create", "--org", "qualgent", "--scope", "submit,read"]),
      );
      expect(created.code, created.output).toBe(0);
      const token = /^(qgj_\S+)$/m.exec(created.output)?.[1];
      expect(token).toBeDefined();
      expect(existsSync(env.QGJOB_DB!)).toBe(true);

      const server = await listening(container(image.cmd));
      expect(server.url).toBe(`http://0.0.0.0:${port}`);
      const health = await healthcheck();
      expect(health.code, health.output).toBe(0);
      const url = `http://127.0.0.1:${port}`;
      expect((await client(url).get("/api/v1/runs")).status).toBe(401);
      expect((await client(url, token).get("/api/v1/runs")).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
