/**
 * The agent's build cache against versions that differ only in characters a folder name cannot
 * hold: each version must install its own build, never a neighbour's cached one.
 */
import { readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildResolver } from "../../agent/build.js";
import { tempDir } from "../harness.js";

describe("build cache key", () => {
  let server: Server;
  let base: string;
  const dir = tempDir("qgjob-faults-builds-");
  const downloads: string[] = [];

  beforeAll(async () => {
    // Each build's content is the version it was asked for, so a mix-up shows in the file.
    server = createServer((req, res) => {
      const version = decodeURIComponent(
        req.url!.replace(/^\/builds\//, "").replace(/\/app\.apk$/, ""),
      );
      downloads.push(version);
      res.end(`build of ${version}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives 1.0+1, 1.0:1, 1.0@1 and 1.0_1 their own builds", async () => {
    const builds = new BuildResolver({
      template: `${base}/builds/{app_version_id}/app.apk`,
      cacheDir: dir,
    });
    const versions = ["1.0+1", "1.0:1", "1.0@1", "1.0_1"];
    const installed: string[] = [];
    for (const v of versions) installed.push(readFileSync((await builds.prepare(v))!, "utf8"));
    // And a second lease of each reuses its own cached file.
    const again: string[] = [];
    for (const v of versions) again.push(readFileSync((await builds.prepare(v))!, "utf8"));
    const right = versions.filter((v, i) => installed[i] === `build of ${v}`).length;
    console.log(
      `build cache: ${right} of ${versions.length} versions got their own build; ` +
        `${downloads.length} downloads for ${versions.length * 2} leases`,
    );
    expect(installed).toEqual(versions.map((v) => `build of ${v}`));
    expect(again).toEqual(installed);
    expect(downloads.sort()).toEqual([...versions].sort());
  });
});
