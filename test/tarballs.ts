/** Hand-made gzipped tarballs, for bundles no packer would make (links out, `../` names, devices). */
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";

export type TarEntry = Partial<tar.Header> & { name: string; body?: string };

export async function gzTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry(h, body ?? "");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}
