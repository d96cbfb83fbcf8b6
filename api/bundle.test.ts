import { createReadStream } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import {
  BundleError,
  inspectBundle,
  listBundleFiles,
  packBundle,
  removePacked,
  unpackBundle,
} from "./bundle.js";
import { gzTar } from "../test/tarballs.js";

const temps: string[] = [];
async function temp() {
  const dir = await mkdtemp(join(tmpdir(), "qgjob-bundle-test-"));
  temps.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of temps.splice(0)) await rm(d, { recursive: true, force: true });
});

async function write(root: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

const PROJECT = {
  "package.json": '{"name":"demo"}',
  "package-lock.json": "{}",
  "appwright.config.ts": "export default {}",
  "tests/a.spec.js": "test a",
  "tests/sub/b.spec.js": "test b",
  "tests/fixtures/data.json": "[]",
  ".gitignore": "test-results/\n*.log\n",
  ".qgjobignore": "secrets.env\n",
  "tests/.gitignore": "scratch/\n",
  "tests/scratch/x.js": "ignored by the nested .gitignore",
  "test-results/r.txt": "ignored",
  "debug.log": "ignored",
  "secrets.env": "ignored by .qgjobignore",
  "node_modules/dep/index.js": "never packed",
  "tests/node_modules/x.js": "never packed",
  ".git/HEAD": "never packed",
};

describe("packBundle", () => {
  it("packs the same files to the same hash, whatever their times or location", async () => {
    const a = await temp();
    const b = await temp();
    await write(a, PROJECT);
    await chmod(join(a, "tests/a.spec.js"), 0o700);
    await write(b, Object.fromEntries(Object.entries(PROJECT).reverse()));
    await chmod(join(b, "tests/a.spec.js"), 0o755);
    await utimes(join(b, "package.json"), 1_000_000, 1_000_000);
    const one = await packBundle(a);
    const two = await packBundle(b);
    try {
      expect(one.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(two.sha256).toBe(one.sha256);
      expect(two.size).toBe(one.size);
      expect(one.files).toEqual([
        ".gitignore",
        ".qgjobignore",
        "appwright.config.ts",
        "package-lock.json",
        "package.json",
        "tests/.gitignore",
        "tests/a.spec.js",
        "tests/fixtures/data.json",
        "tests/sub/b.spec.js",
      ]);
      await writeFile(join(b, "tests/a.spec.js"), "test a, changed");
      const three = await packBundle(b);
      expect(three.sha256).not.toBe(one.sha256);
      await removePacked(three);
    } finally {
      await removePacked(one);
      await removePacked(two);
    }
  });

  it("round-trips through unpackBundle with contents, exec bits and inside links", async () => {
    const src = await temp();
    await write(src, PROJECT);
    await chmod(join(src, "tests/a.spec.js"), 0o755);
    await symlink("sub/b.spec.js", join(src, "tests/b-link.js"));
    const packed = await packBundle(src);
    const out = join(await temp(), "work");
    await unpackBundle(createReadStream(packed.file), out);
    await removePacked(packed);
    expect(await readFile(join(out, "tests/sub/b.spec.js"), "utf8")).toBe("test b");
    expect((await lstat(join(out, "tests/a.spec.js"))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(out, "package.json"))).mode & 0o777).toBe(0o644);
    expect(await readlink(join(out, "tests/b-link.js"))).toBe("sub/b.spec.js");
    expect(await readFile(join(out, "tests/b-link.js"), "utf8")).toBe("test b");
    expect(await readdir(out)).not.toContain("node_modules");
  });

  it("refuses to pack a link that points outside the project", async () => {
    const src = await temp();
    await write(src, { "package.json": "{}" });
    await symlink("../../etc/passwd", join(src, "passwd"));
    await expect(listBundleFiles(src)).rejects.toThrow(/outside the project/);
  });
});

describe("unpackBundle and inspectBundle refuse unsafe bundles", () => {
  const cases: [string, () => Promise<Buffer>, RegExp][] = [
    ["a '..' path", () => gzTar([{ name: "../evil.txt", body: "x" }]), /climbs out/],
    ["a nested '..' path", () => gzTar([{ name: "a/../../evil.txt", body: "x" }]), /climbs out/],
    ["an absolute path", () => gzTar([{ name: "/tmp/evil.txt", body: "x" }]), /absolute/],
    [
      "a symlink pointing outside",
      () => gzTar([{ name: "l", type: "symlink", linkname: "../../etc" }]),
      /outside/,
    ],
    [
      "an absolute symlink",
      () => gzTar([{ name: "l", type: "symlink", linkname: "/etc" }]),
      /outside/,
    ],
    [
      "a device file",
      () => gzTar([{ name: "dev", type: "character-device", devmajor: 1, devminor: 3 }]),
      /character-device/,
    ],
    [
      "a hard link",
      () =>
        gzTar([
          { name: "a", body: "x" },
          { name: "b", type: "link", linkname: "a" },
        ]),
      /link/,
    ],
    [
      "a duplicate name",
      () =>
        gzTar([
          { name: "a", body: "x" },
          { name: "a", body: "y" },
        ]),
      /twice/,
    ],
    ["a corrupt stream", async () => Buffer.from("this is not a tarball at all"), /not a readable/],
    [
      "a truncated tarball",
      async () => (await gzTar([{ name: "a", body: "x".repeat(5000) }])).subarray(0, 40),
      /not a readable/,
    ],
  ];

  for (const [what, make, message] of cases) {
    it(`refuses ${what}, writing nothing`, async () => {
      const bytes = await make();
      await expect(inspectBundle(Readable.from([bytes]))).rejects.toThrow(message);
      const parent = await temp();
      const out = join(parent, "work");
      const err = await unpackBundle(Readable.from([bytes]), out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BundleError);
      expect((err as Error).message).toMatch(message);
      expect(await readdir(parent)).toEqual([]);
    });
  }

  it("never writes through a link the bundle made, even one pointing inside", async () => {
    const parent = await temp();
    const out = join(parent, "work");
    const bytes = await gzTar([
      { name: "d", type: "symlink", linkname: "." },
      { name: "e", type: "symlink", linkname: "d/.." },
      { name: "e/evil.txt", body: "x" },
    ]);
    await expect(unpackBundle(Readable.from([bytes]), out)).rejects.toThrow(/through a link/);
    expect(await readdir(parent)).toEqual([]);
  });

  it("refuses a chain of links that ends outside", async () => {
    const parent = await temp();
    const out = join(parent, "work");
    const bytes = await gzTar([
      { name: "d", type: "symlink", linkname: "." },
      { name: "e", type: "symlink", linkname: "d/.." },
    ]);
    await expect(unpackBundle(Readable.from([bytes]), out)).rejects.toThrow(/resolves outside/);
    expect(await readdir(parent)).toEqual([]);
  });

  it("refuses a bundle over the file or byte limits", async () => {
    const bytes = await gzTar([
      { name: "a", body: "1234" },
      { name: "b", body: "5678" },
    ]);
    await expect(inspectBundle(Readable.from([bytes]), { maxFiles: 1 })).rejects.toThrow(
      /more than 1 files/,
    );
    await expect(inspectBundle(Readable.from([bytes]), { maxBytes: 6 })).rejects.toThrow(
      /more than 6 bytes/,
    );
    expect(await inspectBundle(Readable.from([bytes]))).toEqual(["a", "b"]);
  });
});
