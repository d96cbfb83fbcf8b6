/**
 * `npm run bench:uploads`: evidence uploads into the server's blob store, on the disk engine and
 * on a real local S3 server (s3rver). Per engine: one 100 MB upload alone (throughput), then 8
 * uploaders sending 100 MB each at once, sampling the server process's RSS every 50 ms; the
 * baseline is the RSS of the same server just before. The server runs in a process of its own,
 * so the RSS is the server's alone. Streamed uploads keep it flat: it must not grow with 800 MB sent.
 *
 *   npm run bench:uploads -- [--mb 100] [--agents 8]
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { tempDir } from "../test/harness.js";
import { startLocalS3 } from "../test/s3rver.js";

const { values } = parseArgs({
  options: { mb: { type: "string", default: "100" }, agents: { type: "string", default: "8" } },
});
const MB = Number(values.mb);
const AGENTS = Number(values.agents);
const root = join(import.meta.dirname, "..");

/** A file of `mb` MB of distinct bytes (each uploader's its own, so none is deduplicated). */
async function makeFile(dir: string, seed: number): Promise<{ path: string; sha256: string }> {
  const path = join(dir, `video-${seed}.webm`);
  const hash = createHash("sha256");
  async function* chunks() {
    for (let i = 0; i < MB; i++) {
      const chunk = Buffer.alloc(1 << 20);
      chunk.writeUInt32LE(seed, 0);
      chunk.writeUInt32LE(i, 4);
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
  return { path, sha256: hash.digest("hex") };
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

async function startServer(env: NodeJS.ProcessEnv, dir: string) {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(root, "cli/main.ts"),
      "server",
      "--port",
      "0",
      "--db",
      join(dir, "q.db"),
    ],
    {
      env: {
        ...process.env,
        ...env,
        QGJOB_LOG_FORMAT: "json",
        QGJOB_BLOB_MAX_BYTES: String(2 ** 31),
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(buf);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  return { url, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

async function put(url: string, file: { path: string; sha256: string }) {
  const res = await fetch(`${url}/api/v1/blobs/${file.sha256}?org_id=acme&kind=artifact`, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", "content-length": String(MB << 20) },
    body: Readable.toWeb(createReadStream(file.path)) as ReadableStream,
    duplex: "half",
  } as RequestInit);
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
}

async function engine(name: string, env: NodeJS.ProcessEnv) {
  const dir = tempDir("qgjob-bench-uploads-");
  const files = await Promise.all(Array.from({ length: AGENTS + 1 }, (_, i) => makeFile(dir, i)));
  const server = await startServer(env, dir);
  try {
    let t = performance.now();
    await put(server.url, files[AGENTS]!);
    const aloneMBs = MB / ((performance.now() - t) / 1000);
    const baseline = rssOf(server.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(server.pid))), 50);
    t = performance.now();
    await Promise.all(files.slice(0, AGENTS).map((f) => put(server.url, f)));
    const allMBs = (MB * AGENTS) / ((performance.now() - t) / 1000);
    clearInterval(sampler);
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `${name}: one ${MB} MB upload ${aloneMBs.toFixed(0)} MB/s; ${AGENTS} at once ${allMBs.toFixed(0)} MB/s in all; ` +
        `server RSS ${mib(baseline)} before, ${mib(peak)} at most (+${mib(peak - baseline)})`,
    );
  } finally {
    server.stop();
  }
}

await engine("disk", {});
const s3 = await startLocalS3("qgjob-bench");
try {
  await engine("s3rver", { ...s3.env, QGJOB_BLOB_URL: `s3://${s3.bucket}/bench` });
} finally {
  await s3.close();
}
