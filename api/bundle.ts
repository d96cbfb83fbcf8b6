/**
 * Test bundles: a test project at one commit, packed as a gzipped tarball named by its SHA-256.
 *
 * Packing is deterministic, so the same files give the same hash on any machine with the same
 * Node (zlib) and a re-run uploads nothing: entries sorted by path, mtime 0, uid/gid 0, no
 * owner names, modes 644 or 755, gzip level 9. `node_modules` and `.git` are never packed;
 * `.gitignore` and `.qgjobignore` files (at any depth) leave out what they name.
 *
 * Reading is defensive, because a bundle is someone else's bytes: the server reads every
 * uploaded bundle (`inspectBundle`) and the agent unpacks it (`unpackBundle`) with the same
 * checks. An entry that climbs out (`..`, an absolute path), a link that points outside, a device
 * file, a duplicate name or a corrupt stream is refused, and nothing is written outside the
 * target directory, not even through a link the bundle made itself.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  symlink,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import ignore, { type Ignore } from "ignore";
import * as tar from "tar-stream";

/** Never packed, whatever the ignore files say. */
const ALWAYS_LEFT_OUT = new Set(["node_modules", ".git"]);
const IGNORE_FILES = [".gitignore", ".qgjobignore"];
const GZIP_LEVEL = 9;

/** Limits on what one bundle may unpack to (a small tarball can claim terabytes). */
export const BUNDLE_MAX_FILES = 100_000;
export const BUNDLE_MAX_UNPACKED_BYTES = 2 * 1024 ** 3;

/** A bundle the server or the agent refuses, with the reason in words. */
export class BundleError extends Error {
  override name = "BundleError";
}

export interface BundleFile {
  /** Relative, `/`-separated. */
  path: string;
  type: "file" | "symlink";
  mode: number;
  size: number;
  linkname?: string;
}

export interface PackedBundle {
  /** The tarball, in a temporary directory the caller removes (`removePacked`). */
  file: string;
  sha256: string;
  size: number;
  /** The packed files' paths, sorted. */
  files: string[];
}

interface IgnoreRule {
  /** The directory the ignore file sits in, relative to the project. */
  base: string;
  ig: Ignore;
}

const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The files a bundle of `root` holds, sorted by path. */
export async function listBundleFiles(root: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  await walk(root, "", [], out);
  return out.sort((a, b) => byPath(a.path, b.path));
}

async function walk(root: string, rel: string, rules: IgnoreRule[], out: BundleFile[]) {
  const abs = join(root, rel);
  const own: IgnoreRule[] = [...rules];
  for (const name of IGNORE_FILES) {
    const text = await readFile(join(abs, name), "utf8").catch(() => null);
    if (text !== null) own.push({ base: rel, ig: ignore().add(text) });
  }
  const entries = await readdir(abs, { withFileTypes: true });
  for (const entry of entries) {
    if (ALWAYS_LEFT_OUT.has(entry.name)) continue;
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    const isDir = entry.isDirectory();
    if (ignored(own, path, isDir)) continue;
    if (isDir) {
      await walk(root, path, own, out);
    } else if (entry.isSymbolicLink()) {
      const linkname = await readlink(join(root, path));
      if (!linksInside(path, linkname)) {
        throw new BundleError(`${path} links to ${linkname}, outside the project`);
      }
      out.push({ path, type: "symlink", mode: 0o777, size: 0, linkname });
    } else if (entry.isFile()) {
      const st = await lstat(join(root, path));
      out.push({ path, type: "file", mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size });
    }
    // Sockets, fifos and devices have no place in a test project: left out.
  }
}

function ignored(rules: IgnoreRule[], path: string, isDir: boolean) {
  return rules.some((r) => {
    const rel = r.base === "" ? path : path.slice(r.base.length + 1);
    return r.ig.ignores(isDir ? `${rel}/` : rel);
  });
}

/** Whether a link at `path` (relative) to `linkname` stays inside the tree, read lexically. */
function linksInside(path: string, linkname: string) {
  if (linkname === "" || posix.isAbsolute(linkname) || /^[A-Za-z]:[\\/]/.test(linkname)) {
    return false;
  }
  const target = posix.normalize(posix.join(posix.dirname(path), linkname));
  return target !== ".." && !target.startsWith("../");
}

/** Counts and hashes what passes through. */
class Tap extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;
  override _transform(
    chunk: Buffer,
    _enc: BufferEncoding,
    done: (e?: Error | null, c?: Buffer) => void,
  ) {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** Packs the project at `root` into a temporary tarball, streamed, and names it by its hash. */
export async function packBundle(root: string): Promise<PackedBundle> {
  const files = await listBundleFiles(root);
  const dir = await mkdtemp(join(tmpdir(), "qgjob-bundle-"));
  const file = join(dir, "bundle.tar.gz");
  const pack = tar.pack();
  const tap = new Tap();
  const written = pipeline(pack, createGzip({ level: GZIP_LEVEL }), tap, createWriteStream(file));
  try {
    for (const f of files) {
      const header: Partial<tar.Header> & { name: string } = {
        name: f.path,
        mode: f.mode,
        mtime: new Date(0),
        uid: 0,
        gid: 0,
        uname: "",
        gname: "",
        type: f.type,
        size: f.size,
      };
      if (f.type === "symlink") {
        await new Promise<void>((ok, fail) =>
          pack.entry({ ...header, size: 0, linkname: f.linkname }, (e) => (e ? fail(e) : ok())),
        );
        continue;
      }
      await new Promise<void>((ok, fail) => {
        const sink = pack.entry(header, (e) => (e ? fail(e) : ok()));
        createReadStream(join(root, f.path)).on("error", fail).pipe(sink);
      });
    }
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy();
    await written.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { file, sha256: tap.hash.digest("hex"), size: tap.bytes, files: files.map((f) => f.path) };
}

/** Removes a tarball `packBundle` made. */
export async function removePacked(packed: PackedBundle) {
  await rm(dirname(packed.file), { recursive: true, force: true });
}

/** An entry's name made relative and `/`-separated; throws when it climbs out or is absolute. */
function safeName(raw: string): string {
  if (raw.includes("\0")) throw new BundleError(`an entry's name holds a NUL byte`);
  if (posix.isAbsolute(raw) || /^[A-Za-z]:[\\/]/.test(raw) || raw.startsWith("\\")) {
    throw new BundleError(`${raw} is an absolute path`);
  }
  if (raw.split(/[\\/]/).includes("..")) throw new BundleError(`${raw} climbs out with '..'`);
  const name = posix.normalize(raw).replace(/\/+$/, "");
  if (name === "" || name === ".") return ".";
  return name;
}

export interface BundleEntry {
  path: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  size: number;
  linkname?: string;
}

export interface ReadLimits {
  maxFiles?: number;
  maxBytes?: number;
  /**
   * Reads a part of a larger tarball as the bundle: maps each entry's (checked) name to its path
   * in the bundle, or null to skip it unread and uncounted (a repository archive, of which only
   * the test project's folder is the bundle).
   */
  select?: (name: string) => string | null;
}

/**
 * Reads a gzipped bundle entry by entry, checking each, and hands files to `onEntry` with their
 * content (which it must consume). Throws BundleError for anything unsafe or corrupt.
 */
export async function readBundle(
  source: Readable,
  onEntry: (entry: BundleEntry, body: Readable) => Promise<void>,
  limits: ReadLimits = {},
): Promise<void> {
  const maxFiles = limits.maxFiles ?? BUNDLE_MAX_FILES;
  const maxBytes = limits.maxBytes ?? BUNDLE_MAX_UNPACKED_BYTES;
  const extract = tar.extract();
  const gunzip = createGunzip();
  const feeding = pipeline(source, gunzip, extract).catch((err: unknown) => {
    throw corrupt(err);
  });
  const seen = new Set<string>();
  let bytes = 0;
  try {
    for await (const e of extract) {
      const h = e.header;
      const path = limits.select ? limits.select(safeName(h.name)) : safeName(h.name);
      if (path === null) {
        e.resume();
        continue;
      }
      const type = h.type ?? "file";
      if (type !== "file" && type !== "directory" && type !== "symlink") {
        throw new BundleError(`${path} is a ${type}, which a bundle may not hold`);
      }
      if (type === "symlink" && !linksInside(path, h.linkname ?? "")) {
        throw new BundleError(`${path} links to ${h.linkname ?? ""}, outside the bundle`);
      }
      if (path === "." && type !== "directory") throw new BundleError(`an entry has no name`);
      if (type !== "directory") {
        if (seen.has(path)) throw new BundleError(`${path} appears twice`);
        seen.add(path);
        if (seen.size > maxFiles) throw new BundleError(`more than ${maxFiles} files`);
      }
      bytes += h.size ?? 0;
      if (bytes > maxBytes) throw new BundleError(`unpacks to more than ${maxBytes} bytes`);
      const entry: BundleEntry = { path, type, mode: h.mode ?? 0o644, size: h.size ?? 0 };
      if (type === "symlink") entry.linkname = h.linkname ?? "";
      await onEntry(entry, e as unknown as Readable);
      e.resume();
    }
    await feeding;
  } catch (err) {
    source.destroy();
    gunzip.destroy();
    extract.destroy();
    await feeding.catch(() => undefined);
    throw err instanceof BundleError ? err : corrupt(err);
  }
}

function corrupt(err: unknown) {
  if (err instanceof BundleError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new BundleError(`not a readable gzipped tarball (${msg})`);
}

/** The files of a bundle (sorted), checked as `unpackBundle` would; nothing is written. */
export async function inspectBundle(source: Readable, limits?: ReadLimits): Promise<string[]> {
  const files: string[] = [];
  await readBundle(
    source,
    async (entry, body) => {
      if (entry.type !== "directory") files.push(entry.path);
      for await (const _ of body);
    },
    limits,
  );
  return files.sort(byPath);
}

/**
 * Unpacks a bundle into `dir` (created; it must not exist or be empty). On any refusal the
 * directory is removed and BundleError thrown. Files are created exclusively and never through a
 * link: a parent that is a link, or a name that exists already, is refused.
 */
export async function unpackBundle(source: Readable, dir: string, limits?: ReadLimits) {
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  const links: string[] = [];
  try {
    await readBundle(
      source,
      async (entry, body) => {
        if (entry.path === ".") return;
        const target = resolve(root, ...entry.path.split("/"));
        await ensureRealParent(root, target);
        if (entry.type === "directory") {
          await mkdir(target, { recursive: true });
          return;
        }
        await mkdir(dirname(target), { recursive: true });
        await ensureRealParent(root, target);
        if (entry.type === "symlink") {
          await symlink(entry.linkname!, target).catch((err: NodeJS.ErrnoException) => {
            throw err.code === "EEXIST" ? new BundleError(`${entry.path} appears twice`) : err;
          });
          links.push(target);
          return;
        }
        const mode = entry.mode & 0o111 ? 0o755 : 0o644;
        await pipeline(body, createWriteStream(target, { flags: "wx", mode })).catch(
          (err: NodeJS.ErrnoException) => {
            throw err.code === "EEXIST" ? new BundleError(`${entry.path} appears twice`) : err;
          },
        );
      },
      limits,
    );
    // A chain of links each inside on paper (`d -> .`, `e -> d/..`) can still end outside.
    for (const link of links) {
      const real = await realpath(link).catch(() => null);
      if (real !== null && real !== root && !real.startsWith(root + sep)) {
        throw new BundleError(`${relative(root, link)} resolves outside the bundle`);
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Refuses to write below a parent directory that is a link (or not a directory). */
async function ensureRealParent(root: string, target: string) {
  let dir = dirname(target);
  while (dir.length > root.length) {
    const st = await lstat(dir).catch(() => null);
    if (st && !st.isDirectory()) {
      throw new BundleError(`${relative(root, target)} would be written through a link`);
    }
    dir = dirname(dir);
  }
}

/**
 * The test paths that name nothing in a bundle holding `files`: neither a file nor a directory
 * with files in it. Paths are compared normalised (`./tests/a.js` is `tests/a.js`).
 */
export function missingFromBundle(files: readonly string[], tests: readonly string[]): string[] {
  const held = new Set(files);
  const dirs = new Set<string>();
  for (const f of files) {
    for (let i = f.indexOf("/"); i !== -1; i = f.indexOf("/", i + 1)) dirs.add(f.slice(0, i));
  }
  return tests.filter((t) => {
    const p = posix.normalize(t.replace(/\\/g, "/")).replace(/\/+$/, "");
    return !held.has(p) && !dirs.has(p) && p !== ".";
  });
}
