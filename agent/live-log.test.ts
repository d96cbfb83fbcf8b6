/**
 * The live log from a real agent running real test processes against a real server: a watcher
 * hears each line while the test still runs, binary output arrives as text, and a 10 MB line
 * is bounded everywhere (the agent's buffer, its own log, the server's ring).
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { QgjobClient } from "../api/client.js";
import { LogEvent } from "../api/logs.js";
import type { SseEvent } from "../api/sse.js";
import {
  bodyOf,
  client,
  expectStatus,
  startTestServer,
  tempDir,
  type Client,
  type TestServer,
} from "../test/harness.js";
import { DeviceAgent } from "./agent.js";
import { BuildResolver } from "./build.js";
import { httpBlobSink } from "./evidence/http-sink.js";
import { CommandRunner } from "./runners/command.js";

let server: TestServer;
let agent: DeviceAgent | null = null;
let running: Promise<void> | null = null;
let dir: string;

afterEach(async () => {
  await agent?.stop();
  await running;
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a server and an agent on `script`; the agent's own log lines are kept. */
async function start(script: string) {
  server = await startTestServer();
  dir = tempDir("qgjob-live-");
  writeFileSync(join(dir, "t.sh"), script);
  const logLines: string[] = [];
  agent = new DeviceAgent({
    client: new QgjobClient({ baseUrl: server.url, retries: 1, backoffMs: 50 }),
    name: "live-agent",
    target: "emulator",
    device: null,
    labels: [],
    installed: [],
    runner: new CommandRunner({
      template: "sh {test}",
      cwd: dir,
      onLine: (line) => logLines.push(line),
    }),
    builds: new BuildResolver({ template: null, cacheDir: join(dir, ".cache") }),
    logger: pino({ level: "silent" }),
    leaseWaitS: 1,
    drainGraceMs: 200,
    blobs: httpBlobSink({ baseUrl: server.url }),
    spoolDir: null,
  });
  running = agent.run();
  const api = client(server.url);
  const run = await api.post("/api/v1/runs", {
    org_id: "acme",
    app_version_id: "v1",
    tests: ["t.sh"],
  });
  expectStatus(run, 201);
  return { jobId: run.body.jobs[0]!.id, logLines, api };
}

/** Follows the job's log to its end; each chunk with the job's status when it arrived. */
async function follow(jobId: string, api: Client) {
  const events: { e: SseEvent; status: string }[] = [];
  const stream = await new QgjobClient({ baseUrl: server.url }).jobLogEvents(jobId);
  for await (const e of stream) {
    const status = e.event === "log" ? bodyOf(await api.get(`/api/v1/jobs/${jobId}`)).status : "";
    events.push({ e, status });
  }
  return events;
}

const chunks = (events: { e: SseEvent }[]) =>
  events.filter(({ e }) => e.event === "log").map(({ e }) => LogEvent.parse(JSON.parse(e.data)));

describe("the agent's live log", () => {
  it("reaches a watcher while the test runs, and ends with it", async () => {
    const { jobId, api } = await start(
      "for i in 1 2 3 4; do echo \"line $i\"; sleep 0.5; done\nprintf '\\377\\376 binary\\000\\n'\n",
    );
    const events = await follow(jobId, api);
    const text = chunks(events)
      .map((c) => c.text)
      .join("");
    expect(text).toContain("line 1\nline 2\nline 3\nline 4\n");
    expect(text).toContain("\uFFFD\uFFFD binary\u0000\n"); // not UTF-8: replaced, not fatal
    // The first line was heard while the test was still running, not replayed at its end.
    const first = events.find(({ e }) => e.event === "log")!;
    expect(first.status).toBe("running");
    expect(events.at(-1)!.e.event).toBe("end");
    expect(JSON.parse(events.at(-1)!.e.data)).toMatchObject({ status: "passed" });
  }, 30_000);

  it("bounds a 10 MB line: dropped and counted on the way, cut in the agent's log", async () => {
    const { jobId, logLines, api } = await start(
      `"${process.execPath}" -e "process.stdout.write('y'.repeat(10*1024*1024)+'\\\\n'); console.log('after')"\n`,
    );
    const got = chunks(await follow(jobId, api));
    // The agent sent what its bounded buffer held as posts drained it, and counted the rest.
    const sent = got.reduce((n, c) => n + c.text.length, 0);
    expect(got.at(-1)!.dropped_bytes + sent).toBeGreaterThanOrEqual(10 * 1024 * 1024);
    expect(got.at(-1)!.dropped_bytes).toBeGreaterThan(5 * 1024 * 1024);
    // The server's ring holds the newest 256 KiB of it.
    const held = chunks(await follow(jobId, api)).reduce((n, c) => n + c.text.length, 0);
    expect(held).toBeLessThanOrEqual(256 * 1024);
    expect(Math.max(...logLines.map((l) => l.length))).toBeLessThan(100 * 1024);
    expect(logLines.at(-1)).toBe("after");
    const job = bodyOf(await api.get(`/api/v1/jobs/${jobId}`));
    expect(job.status).toBe("passed");
  }, 60_000);
});
