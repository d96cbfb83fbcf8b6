/**
 * The CLI forgives what a person types: an id without its flag, a URL copied with the API's
 * root, a mistyped command after `help`, and the old `--org` spelling; and it names the mix-up
 * when a run id is given as a job id.
 */
import { describe, expect, it } from "vitest";
import { bodyOf, serverPerSuite, submit } from "../harness.js";
import { runCli } from "./cli-process.js";

const suite = serverPerSuite();
const qgjob = (args: string[]) => runCli(args, { QGJOB_URL: suite.server.url });

// Each test starts CLI processes (a second or more each on a loaded machine).
describe("ids, URLs and typos", { timeout: 60_000 }, () => {
  it("takes a positional id and tells a run from a job by its prefix", async () => {
    const run = bodyOf(await submit(suite.api, { tests: ["tests/a.spec.ts"] }));
    const jobId = run.jobs[0]!.id;
    const [byRun, byJob, waited] = await Promise.all([
      qgjob(["status", run.id]),
      qgjob(["status", jobId, "--json"]),
      qgjob(["wait", run.id, "--timeout", "1s"]),
    ]);
    expect(byRun.code).toBe(0);
    expect(byRun.stdout).toMatch(new RegExp(`^run ${run.id}  queued`));
    expect(JSON.parse(byJob.stdout)).toMatchObject({ id: jobId, run_id: run.id });
    expect(waited.code).toBe(4); // still queued when the timeout passes: it did wait for the run
    expect(waited.stderr).toContain("0 passed");
  });

  it("says a run id given as --job-id is a run id, instead of the server's 404", async () => {
    const run = bodyOf(await submit(suite.api, { tests: ["tests/a.spec.ts"] }));
    const out = await qgjob(["status", `--job-id=${run.id}`]);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      `qgjob: --job-id: '${run.id}' is a run id, not a job id (give it as --run-id, or just the id)\n`,
    );
    const neither = await qgjob(["status", "agt_01JD8ZK3V4QH6T2X0M9B5C7R1E"]);
    expect(neither).toMatchObject({ code: 2, stderr: expect.stringMatching(/run_… or job_… id/) });
  });

  it("does not double /api/v1 when the URL is given with it", async () => {
    const run = bodyOf(await submit(suite.api, { tests: ["tests/a.spec.ts"] }));
    const out = await runCli(["status", run.id, "--url", `${suite.server.url}/api/v1/`]);
    expect(out.stderr).toBe("");
    expect(out).toMatchObject({ code: 0, stdout: expect.stringContaining(run.id) });
  });

  it("help with a mistyped command says it is unknown and suggests the right one", async () => {
    const out = await runCli(["help", "sumbit"]);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe("");
    expect(out.stderr).toMatch(/unknown command 'sumbit'\n\(Did you mean submit\?\)/);
    const known = await runCli(["help", "submit"]);
    expect(known).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("Usage: qgjob submit"),
    });
  });

  it("spells the org --org-id everywhere, and still takes token's old --org", async () => {
    const help = await runCli(["token", "create", "--help"]);
    expect(help.stdout).toContain("--org-id <id>");
    expect(help.stdout).not.toMatch(/--org </);
    const db = `${suite.server.dir}/tokens.db`;
    // One after the other: the first creates and migrates the database file.
    const created = await runCli([
      "token",
      "create",
      "--org-id",
      "acme",
      "--scope",
      "read",
      "--db",
      db,
      "--json",
    ]);
    const old = await runCli([
      "token",
      "create",
      "--org",
      "acme",
      "--scope",
      "read",
      "--db",
      db,
      "--json",
    ]);
    expect(JSON.parse(created.stdout)).toMatchObject({ org_id: "acme" });
    expect(JSON.parse(old.stdout)).toMatchObject({ org_id: "acme" });
  });
});
