/**
 * The OpenAPI document as tools read it: client generators name methods by operationId, and
 * Redocly's recommended rules catch what makes a document hard to use.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startTestServer, type TestServer } from "../harness.js";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

describe("the OpenAPI document", () => {
  let server: TestServer;
  let doc: any;

  beforeAll(async () => {
    server = await startTestServer();
    const reply = await client(server.url).get("/api/v1/openapi.json");
    expect(reply.status).toBe(200);
    doc = reply.body;
  });
  afterAll(() => server?.close());

  it("gives every operation a unique camelCase operationId", () => {
    const ops = Object.entries<Record<string, any>>(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, id: op.operationId })),
    );
    expect(ops.length).toBeGreaterThan(20);
    expect(ops.filter((o) => typeof o.id !== "string").map((o) => o.where)).toEqual([]);
    expect(ops.filter((o) => !/^[a-z][a-zA-Z0-9]*$/.test(o.id)).map((o) => o.id)).toEqual([]);
    const ids = ops.map((o) => o.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(ids).toEqual(expect.arrayContaining(["submitRun", "getRun", "leaseJobs"]));
  });

  it("names its servers and license", () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(doc.info.license).toEqual(expect.objectContaining({ name: "MIT" }));
  });

  it("lints clean with Redocly's recommended rules", async () => {
    const file = join(server.dir, "openapi.json");
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const bin = join(import.meta.dirname, "../../node_modules/.bin/redocly");
    const config = join(import.meta.dirname, "../../redocly.yaml");
    const run = promisify(execFile)(
      bin,
      ["lint", file, "--config", config, "--format", "stylish"],
      {
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      },
    );
    // Warnings fail too; the output names each problem, so a failure says what to fix.
    const { stdout, stderr } = await run.catch((err) => {
      throw new Error(`redocly lint failed:\n${err.stdout}\n${err.stderr}`);
    });
    const report = `${stdout}\n${stderr}`;
    expect(report).toContain("Your API description is valid");
    expect(report.split("\n").filter((l) => /^\s*\d+:\d+\s+(warning|error)\s/.test(l))).toEqual([]);
  }, 60_000);
});
