/**
 * Flag fuzzing of the `qgjob` CLI: each command line is valid but for one malformed flag (bad id,
 * escaping test path, out-of-range number, unknown choice, bad duration or URL, unknown flag,
 * missing required flag). Each must exit 2 with a short message naming no token and showing no
 * stack trace, and the server's database must be unchanged. The CLI runs in this process
 * (runCli, exactly what bin/qgjob calls) so thousands of command lines take seconds.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppVersionId, DeviceName, OrgId, ResourceId, Tag, Target } from "../../api/schemas.js";
import { issueToken } from "../../app/tokens.js";
import { runCli } from "../../cli/program.js";
import { parseDuration } from "../../cli/duration.js";
import { startTestServer, tempDir, type TestServer } from "../harness.js";
import { escapingTestPath, HOSTILE, invalidText } from "./malformed.js";
import { dumpDatabase } from "./snapshot.js";

const COMMAND_LINES = 3_000;

/** Strings the zod schema refuses (the CLI and the server share api/schemas.ts). */
const refusedBy = (schema: { safeParse(v: unknown): { success: boolean } }) =>
  fc
    .oneof(
      fc.constantFrom(...HOSTILE),
      fc.string({ maxLength: 30, unit: "binary" }),
      fc.constant("x".repeat(300)),
    )
    .filter((s) => !schema.safeParse(s).success && !s.startsWith("-"));

const badDuration = fc
  .oneof(
    fc.constantFrom(...HOSTILE, "5 minutes", "1h-2m", "-1s", "1e3", "m", "30x"),
    fc.string({ maxLength: 8 }),
  )
  .filter((s) => parseDuration(s) === null && !s.startsWith("-"));

const badInt = (min: number, max: number) =>
  invalidText({ type: "integer", minimum: min, maximum: max })!.filter((s) => !s.startsWith("-"));

const badUrl = fc.constantFrom(
  "not a url",
  "ftp://127.0.0.1/",
  "javascript:alert(1)",
  "http://",
  "file:///etc/passwd",
  "127.0.0.1:8000",
);

const unknownFlag = fc.stringMatching(/^[a-z]{3,12}$/).map((s) => [`--zz-${s}`]);

interface CommandLine {
  argv: readonly string[];
}

describe("CLI flag fuzzing", () => {
  let server: TestServer;
  let token: string;
  let tokenDir: string;
  let tokenDb: string;

  beforeAll(async () => {
    server = await startTestServer();
    token = (
      await issueToken(server.store, { orgId: "acme", scopes: ["admin"], name: "cli" }, Date.now())
    ).token;
    tokenDir = tempDir();
    tokenDb = join(tokenDir, "tokens.db");
  });
  afterAll(async () => {
    await server.close();
    rmSync(tokenDir, { recursive: true, force: true });
  });

  function commandLines(): fc.Arbitrary<CommandLine> {
    const conn = ["--url", server.url, "--token", token];
    const submitBase: Record<string, string> = {
      "--org-id": "acme",
      "--app-version-id": "v1",
      "--test": "a.spec.js",
    };
    const submit = (flag: string, value: fc.Arbitrary<string>) =>
      value.map((v) => {
        const flags = { ...submitBase, [flag]: v };
        return ["submit", ...conn, ...Object.entries(flags).flatMap(([f, x]) => [`${f}=${x}`])];
      });
    const lookup = (cmd: string) =>
      fc.oneof(
        refusedBy(ResourceId).map((id) => [cmd, ...conn, `--run-id=${id}`]),
        refusedBy(ResourceId).map((id) => [cmd, ...conn, `--job-id=${id}`]),
        fc.constant([cmd, ...conn]),
        fc.constant([
          cmd,
          ...conn,
          "--run-id=run_01JD0000000000000000000000",
          "--job-id=job_01JD0000000000000000000000",
        ]),
        unknownFlag.map((f) => [cmd, ...conn, "--run-id=run_01JD0000000000000000000000", ...f]),
      );
    const agentBase = ["agent", ...conn, "--runner", "command", "--command", "true"];
    return fc
      .oneof(
        submit("--org-id", refusedBy(OrgId)),
        submit("--app-version-id", refusedBy(AppVersionId)),
        submit("--test", escapingTestPath),
        submit("--test", fc.constantFrom("a\u0001.spec.js", "tests/\n.spec.js", "")),
        submit("--priority", badInt(0, 10)),
        submit("--retries", badInt(0, 5)),
        submit("--target", refusedBy(Target)),
        submit("--device", refusedBy(DeviceName)),
        submit("--tag", refusedBy(Tag)),
        submit("--test-timeout", fc.oneof(badDuration, fc.constantFrom("0", "7h", "100000000"))),
        submit("--idempotency-key", fc.constantFrom("a b", "x".repeat(300), "é")),
        submit("--url", badUrl),
        unknownFlag.map((f) => [
          "submit",
          ...conn,
          "--org-id=acme",
          "--app-version-id=v1",
          "--test=a.spec.js",
          ...f,
        ]),
        fc.constantFrom("--org-id", "--app-version-id", "--test").map((drop) => [
          "submit",
          ...conn,
          ...Object.entries(submitBase)
            .filter(([f]) => f !== drop)
            .map(([f, v]) => `${f}=${v}`),
        ]),
        lookup("status"),
        lookup("wait"),
        lookup("cancel"),
        badDuration.map((d) => [
          "wait",
          ...conn,
          "--run-id=run_01JD0000000000000000000000",
          `--timeout=${d}`,
        ]),
        refusedBy(Target).map((t) => [...agentBase, `--target=${t}`]),
        refusedBy(DeviceName).map((d) => [...agentBase, "--target=emulator", `--device=${d}`]),
        refusedBy(Tag).map((l) => [...agentBase, "--target=emulator", `--label=${l}`]),
        refusedBy(AppVersionId).map((v) => [...agentBase, "--target=emulator", `--installed=${v}`]),
        badDuration.map((d) => [...agentBase, "--target=emulator", `--lease-wait=${d}`]),
        badDuration.map((d) => [...agentBase, "--target=emulator", `--drain-grace=${d}`]),
        fc
          .constantFrom("docker", "sh", "")
          .map((r) => ["agent", ...conn, "--target=emulator", `--runner=${r}`]),
        fc.constant(["agent", ...conn, "--target=emulator", "--runner=command"]),
        badUrl.map((u) => [
          "agent",
          "--url",
          u,
          "--target=emulator",
          "--runner=command",
          "--command=true",
        ]),
        badInt(0, 65535).map((p) => ["server", `--port=${p}`, `--db=${tokenDb}`]),
        fc
          .constantFrom("root", "admin;rm", "SUBMIT", "")
          .map((s) => ["token", "create", "--org=acme", `--scope=${s}`, `--db=${tokenDb}`]),
      )
      .map((argv) => ({ argv }));
  }

  it(`exits 2 on ${COMMAND_LINES} malformed command lines and changes nothing`, async () => {
    const before = dumpDatabase(server.db);
    const codes = new Map<number, number>();
    let ran = 0;
    const writeOut = process.stdout.write;
    const writeErr = process.stderr.write;

    await fc.assert(
      fc.asyncProperty(commandLines(), async ({ argv }) => {
        let out = "";
        const capture = ((chunk: string | Uint8Array) => {
          out += String(chunk);
          return true;
        }) as typeof process.stdout.write;
        process.stdout.write = capture;
        process.stderr.write = capture;
        let code: number;
        try {
          code = await runCli([...argv]);
        } finally {
          process.stdout.write = writeOut;
          process.stderr.write = writeErr;
        }
        ran++;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        const shown = `${JSON.stringify(argv)} -> ${code}: ${out.slice(0, 400)}`;
        expect(code, shown).toBe(2);
        expect(out.trim(), shown).not.toBe("");
        expect(out, shown).not.toMatch(/\n\s+at .+:\d+:\d+/);
        expect(out, shown).not.toContain(token);
      }),
      { numRuns: COMMAND_LINES, endOnFailure: true },
    );

    // A refused command still used its token: "last used" may move, nothing else.
    const withoutLastUse = (db: Record<string, unknown[]>) => ({
      ...db,
      tokens: db.tokens!.map((t) => ({ ...(t as object), last_used_at: null })),
    });
    expect(withoutLastUse(dumpDatabase(server.db))).toEqual(withoutLastUse(before));
    console.log(
      `cli fuzz: ${ran} malformed command lines, exit codes ${JSON.stringify(Object.fromEntries(codes))}; data unchanged`,
    );
  });
});
