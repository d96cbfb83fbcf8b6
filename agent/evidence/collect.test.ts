/** Evidence collection on real files: names, caps, links, and what goes into the spool. */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/harness.js";
import type { TestOutcome } from "../runners/runner.js";
import { collectEvidence, safeName } from "./collect.js";
import { listArtifactFiles } from "./files.js";
import { Spool } from "./spool.js";
import { rmSync } from "node:fs";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const root = tempDir("qgjob-collect-");
  dirs.push(root);
  const spool = await new Spool(join(root, "spool")).open();
  const files = join(root, "files");
  mkdirSync(files);
  return { root, spool, files };
}

const outcome = (over: Partial<TestOutcome>): TestOutcome => ({
  jobId: "job_1",
  status: "failed",
  durationMs: 1,
  artifacts: [],
  ...over,
});

describe("collectEvidence", () => {
  it("spools the log and the files with their hash, named safely", async () => {
    const { spool, files } = await setup();
    writeFileSync(join(files, "out.log"), "the full log\n");
    writeFileSync(join(files, "shot.png"), "png bytes");
    const artifacts = await collectEvidence(
      outcome({
        logFile: join(files, "out.log"),
        artifacts: [
          { name: "../../etc/passwd", path: join(files, "shot.png") },
          { name: "screenshot", path: join(files, "shot.png"), content_type: "image/png" },
        ],
      }),
      { spool, orgId: "acme" },
    );
    expect(artifacts.map((a) => [a.name, a.kind])).toEqual([
      ["output.log", "log"],
      ["etc/passwd.png", "screenshot"],
      ["screenshot.png", "screenshot"],
    ]);
    const log = artifacts[0]!;
    expect(log.size).toBe(13);
    expect(readFileSync(spool.blobPath(log.sha256!), "utf8")).toBe("the full log\n");
    // The same bytes twice are one blob.
    expect(artifacts[1]!.sha256).toBe(artifacts[2]!.sha256);
    expect((await spool.pendingBlobs()).length).toBe(2);
  });

  it("lists a symbolic link, a vanished file and an oversized one as missing, with the reason", async () => {
    const { spool, files, root } = await setup();
    writeFileSync(join(root, "secret"), "outside the artifacts folder");
    symlinkSync(join(root, "secret"), join(files, "link.txt"));
    writeFileSync(join(files, "big.bin"), Buffer.alloc(2048));
    const listed = await listArtifactFiles(files);
    const artifacts = await collectEvidence(
      outcome({ artifacts: [...listed, { name: "gone.png", path: join(files, "gone.png") }] }),
      { spool, orgId: "acme", limits: { maxFiles: 10, maxFileBytes: 1024, maxAttemptBytes: 1e9 } },
    );
    expect(artifacts).toEqual([
      expect.objectContaining({ name: "big.bin", missing: expect.stringMatching(/cap per file/) }),
      expect.objectContaining({ name: "link.txt", missing: "a symbolic link (not followed)" }),
      expect.objectContaining({ name: "gone.png", missing: expect.stringMatching(/gone/) }),
    ]);
    expect(await spool.pendingBlobs()).toEqual([]);
  });

  it("caps 10,000 tiny files at the per-attempt count and says how many were left out", async () => {
    const { spool, files } = await setup();
    for (let i = 0; i < 10_000; i++)
      writeFileSync(join(files, `f${String(i).padStart(5, "0")}.txt`), `${i}`);
    const artifacts = await collectEvidence(
      outcome({ artifacts: await listArtifactFiles(files) }),
      { spool, orgId: "acme" },
    );
    expect(artifacts.length).toBeLessThanOrEqual(50);
    expect(artifacts.filter((a) => a.sha256)).toHaveLength(40);
    expect(artifacts.at(-1)).toMatchObject({
      name: "9960 more files",
      missing: expect.stringMatching(/^over the cap of 40 files per attempt: f00040.txt, /),
    });
  });
});

describe("safeName", () => {
  it.each([
    ["../../etc/passwd", "etc/passwd"],
    ["/abs/path.png", "abs/path.png"],
    ["a\\..\\b", "a_.._b"],
    [".hidden", "_hidden"],
    ["..", "artifact"],
    ["line\nbreak", "line_break"],
  ])("%j -> %j", (input, expected) => {
    expect(safeName(input)).toBe(expected);
  });
});
