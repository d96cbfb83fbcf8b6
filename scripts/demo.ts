/**
 * `npm run demo`: qgjob end to end in one command, with nothing to install beyond `npm install`.
 * It starts a server on a free loopback port over a fresh SQLite file, one agent on the example
 * project with the command runner (no emulator, no AppWright install: the command only checks
 * that the test file is there), submits a run through the CLI and waits for it, then stops both.
 * `--keep` leaves the server and the agent running (Ctrl-C stops them) to look at the dashboard.
 * It exits with the CLI's exit code: 0 when the run passed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLI = ["--import", "tsx", join(ROOT, "cli/main.ts")];
const PROJECT_DIR = join(ROOT, "examples/appwright-demo");
const COMMAND = "test -f {test}";
const TESTS = ["tests/passing.spec.ts", "tests/welcome.spec.ts"];

const keep = process.argv.includes("--keep");
const children: ChildProcess[] = [];
const say = (line: string) => process.stdout.write(`demo: ${line}\n`);

function qgjob(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Every line a child prints, prefixed with its name, so the three processes read apart. */
function prefix(child: ChildProcess, name: string, filter: (line: string) => string | null) {
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      const shown = filter(line);
      if (shown !== null) process.stdout.write(`${name} │ ${shown}\n`);
    });
  }
}

const exited = (child: ChildProcess) =>
  new Promise<number>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });

async function stop(children: ChildProcess[]) {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  await Promise.all(children.map(exited));
}

/** A free loopback port, so that the server can be told its public URL before it starts. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });

// Ctrl-C (or a SIGTERM to the demo alone) stops the children, then the demo cleans up.
let interrupted: () => void = () => {};
const interruption = new Promise<void>((resolve) => (interrupted = resolve));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of children) if (child.exitCode === null) child.kill(signal);
    interrupted();
  });
}

const dataDir = mkdtempSync(join(tmpdir(), "qgjob-demo-"));
let code = 3;
try {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The server's JSON log says when it listens; the demo shows only what is not JSON.
  const server = qgjob(["server", "--port", String(port), "--db", join(dataDir, "qgjob.db")], {
    QGJOB_LOG_FORMAT: "json",
    QGJOB_PUBLIC_URL: base,
  });
  children.push(server);
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "qgjob server listening" && entry.url) resolve(entry.url);
      } catch {
        process.stdout.write(`server │ ${line}\n`);
      }
    });
    server.stderr!.pipe(process.stderr);
    void exited(server).then((c) => reject(new Error(`the server exited (${c}) before listening`)));
  });
  say(`server on ${url} (dashboard ${url}/), database in ${dataDir}`);

  say(`agent on examples/appwright-demo with the command runner: ${COMMAND}`);
  const agent = qgjob([
    "agent",
    "--url",
    url,
    "--target",
    "emulator",
    "--name",
    "demo-agent",
    "--runner",
    "command",
    "--project-dir",
    PROJECT_DIR,
    "--command",
    COMMAND,
  ]);
  children.push(agent);
  prefix(agent, "agent ", (line) => line);

  const submit = ["submit", "--org-id=demo", "--app-version-id=1.0.0", "--test", ...TESTS];
  say(`qgjob ${submit.join(" ")} --wait`);
  const cli = qgjob([...submit, "--wait", "--url", url]);
  children.push(cli);
  let runId = "";
  prefix(cli, "qgjob ", (line) => {
    runId ||= /^run (run_\w+)/.exec(line)?.[1] ?? "";
    return line;
  });
  code = await exited(cli);
  say(code === 0 ? "the run passed" : `qgjob submit exited ${code}`);
  if (runId) say(`its page on the dashboard: ${url}/runs/${runId}`);

  if (keep) {
    say(`the server and the agent keep running: open ${url}/ ; Ctrl-C stops them`);
    await interruption;
  }
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
} finally {
  await stop(children);
  rmSync(dataDir, { recursive: true, force: true });
}
process.exitCode = code;
