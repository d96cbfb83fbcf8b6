/**
 * Secrets and scopes with the real server process logging at its most verbose (trace): tokens
 * used on every documented route, right and wrong, in odd headers, over the rate limit and over
 * the body limit, appear in no log line and no answer; the database holds only their hashes; an
 * agent token cannot submit and a read token cannot cancel.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  client,
  expectStatus,
  registerAgent,
  submit,
  tempDir,
  type Client,
  type Reply,
} from "../harness.js";
import { killAll, qgjob, spawnServer } from "../processes.js";
import { dumpDatabase } from "./snapshot.js";

describe("tokens", () => {
  const dir = tempDir("qgjob-faults-secrets-");
  afterAll(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("never show up in logs or answers, and scopes hold", async () => {
    const db = join(dir, "qgjob.db");
    const token = async (...args: string[]) => {
      const made = await qgjob(["token", "create", ...args, "--db", db, "--json"]);
      expect(made.code, made.output).toBe(0);
      return JSON.parse(made.output).token as string;
    };
    const submitter = await token("--org", "acme", "--scope", "submit,read");
    const reader = await token("--org", "acme", "--scope", "read");
    const agentToken = await token("--fleet", "--scope", "agent");
    const tokens = [submitter, reader, agentToken];

    const server = await spawnServer(["--db", db], {
      QGJOB_LOG_LEVEL: "trace",
      QGJOB_RATE_LIMIT_PER_S: "1",
      QGJOB_RATE_LIMIT_BURST: "40",
      QGJOB_BODY_LIMIT_BYTES: "4096",
    });
    const answers: Reply<unknown, unknown>[] = [];
    const seen = async <R extends Reply<unknown, unknown>>(p: Promise<R>) => {
      const r = await p;
      answers.push(r);
      return r;
    };
    const as = (t: string) => client(server.url, t);
    const sub = as(submitter);
    const agentApi = as(agentToken);

    const run = await seen(submit(sub, { org_id: "acme", tests: ["a.spec.js", "b.spec.js"] }));
    expectStatus(run, 201);
    const agent = await registerAgent(agentApi, "secret-agent");
    const lease = await seen(agentApi.post(`/api/v1/agents/${agent}/lease`, {}));
    expectStatus(lease, 200);

    // Scopes: an agent token cannot submit, a read token cannot cancel.
    const agentSubmits = await seen(submit(agentApi, { org_id: "acme", tests: ["x.spec.js"] }));
    expect(agentSubmits.status).toBe(403);
    const readerCancels = await seen(as(reader).post(`/api/v1/runs/${run.body.id}/cancel`));
    expect(readerCancels.status).toBe(403);
    const readerCancelsJob = await seen(
      as(reader).post(`/api/v1/jobs/${run.body.jobs[0]!.id}/cancel`),
    );
    expect(readerCancelsJob.status).toBe(403);

    // Every read route with each token, then odd presentations of the tokens.
    const reads = [
      "/api/v1/runs",
      `/api/v1/runs/${run.body.id}`,
      "/api/v1/jobs",
      `/api/v1/jobs/${run.body.jobs[0]!.id}`,
      "/api/v1/agents",
      `/api/v1/agents/${agent}`,
      "/api/v1/queue",
      "/metrics",
      "/api/v1/openapi.json",
    ];
    for (const t of tokens) for (const path of reads) await seen(as(t).get(path));
    const odd: Client[] = tokens.flatMap((t) => [as(`${t}x`), as(t.slice(0, -1)), as(`${t} ${t}`)]);
    for (const c of odd) await seen(c.get("/api/v1/runs"));
    for (const t of tokens) {
      await seen(sub.get("/api/v1/runs", { authorization: `Basic ${t}` }));
      await seen(sub.get(`/api/v1/runs?token=${t}`));
      await seen(sub.post("/api/v1/runs", { org_id: "acme", tests: [t.repeat(200)] }));
    }
    // Spend the submitter's budget to reach the 429 path too.
    let limited = 0;
    for (let i = 0; i < 60 && limited === 0; i++) {
      if ((await seen(sub.get("/api/v1/runs"))).status === 429) limited++;
    }
    expect(limited).toBe(1);

    server.child.kill("SIGTERM");
    await server.exited;
    const log = server.output();
    expect(log).toContain("qgjob server listening");
    for (const t of tokens) {
      const secret = t.slice(4);
      expect(log).not.toContain(secret);
      expect(log).not.toContain(createHash("sha256").update(t).digest("hex"));
      for (const a of answers) expect(JSON.stringify(a.body)).not.toContain(secret);
    }

    const dump = JSON.stringify(dumpDatabase(db));
    for (const t of tokens) {
      expect(dump).not.toContain(t.slice(4));
      expect(dump).toContain(createHash("sha256").update(t).digest("hex"));
    }
    console.log(
      `secrets: ${answers.length} answers and ${log.split("\n").length} trace log lines hold no token; ` +
        "the database holds only hashes; agent tokens cannot submit, read tokens cannot cancel",
    );
  });
});
