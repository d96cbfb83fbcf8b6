/**
 * A lease's working copies of its runs' test bundles: each bundle is fetched once through the
 * blob cache, unpacked into a fresh temporary directory, and given its dependencies from a cache
 * keyed by the lockfile's hash (`npm ci` runs once per lockfile, later bundles link the result).
 * The lease that opened a working directory removes it; the caches stay.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import {
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  symlink,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Logger } from "pino";
import { unpackBundle } from "../api/bundle.js";
import type { RunBuild, RunBundle } from "../api/schemas.js";
import type { BlobCache } from "./blob-cache.js";
import { runProcess } from "./process.js";

/** The bundle could not be made ready on this agent: infrastructure, not the tests. */
export class WorkspaceError extends Error {
  override name = "WorkspaceError";
}

export interface BundleWorkspacesOptions {
  blobs: BlobCache;
  /** Installed dependencies, one folder per lockfile hash. */
  depsDir: string;
  logger: Logger;
}

const NPM_CI_TIMEOUT_MS = 15 * 60_000;

export class BundleWorkspaces {
  private readonly installs = { npmInstalls: 0, npmCacheHits: 0 };
  /** One install per lockfile at a time, however many bundles share it. */
  private readonly installing = new Map<string, Promise<string>>();

  constructor(private readonly opts: BundleWorkspacesOptions) {}

  /** For the agent's lease lines: blobs fetched or found cached, npm ci runs or cache hits. */
  get stats() {
    const { hits, downloads } = this.opts.blobs.stats;
    return { blobHits: hits, blobDownloads: downloads, ...this.installs };
  }

  /** A fresh working directory holding `bundle`, its dependencies linked in. */
  async open(bundle: RunBundle): Promise<string> {
    const started = performance.now();
    const downloadsBefore = this.opts.blobs.stats.downloads;
    let blob: string;
    try {
      blob = await this.opts.blobs.get(bundle.sha256);
    } catch (err) {
      throw new WorkspaceError(
        `cannot fetch the bundle ${bundle.sha256.slice(0, 12)}: ${(err as Error).message}`,
      );
    }
    const dir = await mkdtemp(join(tmpdir(), "qgjob-bundle-"));
    try {
      await unpackBundle(createReadStream(blob), dir).catch((err: Error) => {
        throw new WorkspaceError(
          `cannot unpack the bundle ${bundle.sha256.slice(0, 12)}: ${err.message}`,
        );
      });
      await this.linkDependencies(dir);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.opts.logger.info(
      {
        bundle: bundle.sha256.slice(0, 12),
        downloaded: this.opts.blobs.stats.downloads > downloadsBefore,
        setupMs: Math.round(performance.now() - started),
      },
      "bundle ready",
    );
    return dir;
  }

  /** The run's uploaded build, placed under its file name in a fresh directory (the caller's). */
  async placeBuild(build: RunBuild): Promise<{ dir: string; path: string }> {
    let blob: string;
    try {
      blob = await this.opts.blobs.get(build.sha256);
    } catch (err) {
      throw new WorkspaceError(`cannot fetch the build ${build.name}: ${(err as Error).message}`);
    }
    const dir = await mkdtemp(join(tmpdir(), "qgjob-build-"));
    const path = join(dir, basename(build.name) || "build");
    // A hard link costs nothing; across file systems it is a copy.
    await link(blob, path).catch(() => copyFile(blob, path));
    return { dir, path };
  }

  private async linkDependencies(dir: string) {
    const lockfile = join(dir, "package-lock.json");
    if (!existsSync(join(dir, "package.json")) || !existsSync(lockfile)) return;
    if (existsSync(join(dir, "node_modules"))) return;
    const key = createHash("sha256")
      .update(await readFile(lockfile))
      .digest("hex");
    let installing = this.installing.get(key);
    if (!installing) {
      installing = this.install(dir, key).finally(() => this.installing.delete(key));
      this.installing.set(key, installing);
    }
    await symlink(await installing, join(dir, "node_modules"), "dir");
  }

  /** The cached node_modules of this lockfile, installed by `npm ci` when not cached yet. */
  private async install(dir: string, key: string): Promise<string> {
    const done = join(this.opts.depsDir, key, "node_modules");
    if (await stat(done).catch(() => null)) {
      this.installs.npmCacheHits++;
      this.opts.logger.info({ lockfile: key.slice(0, 12) }, "dependencies cached");
      return done;
    }
    // Installed beside the cache, renamed in when complete: a broken install is never reused.
    const staging = join(this.opts.depsDir, `.incoming-${randomUUID()}`);
    await mkdir(staging, { recursive: true });
    try {
      await copyFile(join(dir, "package.json"), join(staging, "package.json"));
      await copyFile(join(dir, "package-lock.json"), join(staging, "package-lock.json"));
      this.installs.npmInstalls++;
      const started = performance.now();
      const result = await runProcess("npm", ["ci", "--no-audit", "--no-fund"], {
        cwd: staging,
        timeoutMs: NPM_CI_TIMEOUT_MS,
        tailLines: 200, // npm prints its reason first, then its usage text
      });
      if (result.exitCode !== 0) {
        const tail = (result.errTail.trim() ? result.errTail : result.tail).trimEnd();
        const how = result.timedOut ? "timed out" : `exit ${result.exitCode ?? result.signal}`;
        throw new WorkspaceError(`npm ci failed (${how}):\n${tail}`);
      }
      await mkdir(join(staging, "node_modules"), { recursive: true }); // no dependencies at all
      await mkdir(join(this.opts.depsDir, key), { recursive: true });
      await rename(join(staging, "node_modules"), done).catch(
        async (err: NodeJS.ErrnoException) => {
          if (!(await stat(done).catch(() => null))) throw err; // another agent got there first
        },
      );
      this.opts.logger.info(
        { lockfile: key.slice(0, 12), ms: Math.round(performance.now() - started) },
        "dependencies installed",
      );
      return done;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}
