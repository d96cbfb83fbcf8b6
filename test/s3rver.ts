/**
 * A real local S3 server (s3rver, from npm) on a random loopback port with one bucket, for the
 * S3 blob engine. Nothing outside `npm ci` is needed.
 */
import { rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import S3rver from "s3rver";
import { tempDir } from "./harness.js";

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** The AWS environment a server would be given to use this bucket. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startLocalS3(bucket = "qgjob-test"): Promise<LocalS3> {
  const directory = tempDir("qgjob-s3-");
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    // s3rver's fixed development credentials.
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
    },
    async close() {
      // Keep-alive sockets of SDK clients would hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
