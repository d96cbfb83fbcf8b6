/**
 * Slow request bodies against a server with the usual 1,024 open-files limit: 2,000 connections
 * from one address send headers and then dribble nothing of their bodies. New clients from
 * another address must still be served at once, and a long poll still waits its full time.
 */
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { client, registerAgent, tempDir } from "../harness.js";
import { CLI, killAll, listening, spawnProcess } from "../processes.js";
import { sleep } from "./api-agent.js";

const SLOW = 2000;

describe("slow request bodies", () => {
  const sockets: Socket[] = [];
  afterAll(() => {
    for (const s of sockets) s.destroy();
    killAll();
  });

  it(`serves new connections while ${SLOW} slow bodies are open`, async () => {
    const dir = tempDir("qgjob-faults-slow-");
    const node = [process.execPath, ...CLI, "server", "--port", "0", "--db", join(dir, "q.db")];
    const server = await listening(
      spawnProcess("sh", ["-c", 'ulimit -n 1024 && exec "$@"', "sh", ...node], {
        env: { ...process.env, QGJOB_LOG_LEVEL: "info", QGJOB_RATE_LIMIT_PER_S: "0" },
      }),
    );
    const { port } = new URL(server.url);
    let closedByServer = 0;
    const opened = await Promise.all(
      Array.from(
        { length: SLOW },
        () =>
          new Promise<boolean>((resolve) => {
            // Another loopback address than the clients below: one host's share.
            const s = connect({ host: "127.0.0.1", port: Number(port), localAddress: "127.0.0.2" });
            sockets.push(s);
            s.on("connect", () => {
              s.write(
                "POST /api/v1/runs HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
                  "content-length: 100000\r\n\r\n{",
              );
              resolve(true);
            });
            s.on("error", () => resolve(false));
            s.on("close", () => closedByServer++);
          }),
      ),
    );
    await sleep(1000);
    const api = client(server.url);
    const served: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await Promise.race([
        api.get("/healthz").then((r) => r.status),
        sleep(5000).then(() => 0),
      ]);
      served.push(res);
    }
    // A long poll is a slow answer, not a slow request: it waits its full time, undisturbed.
    const agentId = await registerAgent(api, "poller");
    const started = Date.now();
    const poll = await api.post(`/api/v1/agents/${agentId}/lease`, { wait_s: 2 });
    const open = SLOW - closedByServer;
    console.log(
      `slow bodies: ${opened.filter(Boolean).length} of ${SLOW} connected, ${open} kept open by ` +
        `the server (fd limit 1024); ${served.filter((s) => s === 200).length} of 5 new ` +
        `connections served; a 2 s long poll beside them ${poll.status} after ${Date.now() - started} ms`,
    );
    expect(served).toEqual([200, 200, 200, 200, 200]);
    expect(poll.status).toBe(204);
  });
});
