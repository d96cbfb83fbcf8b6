/**
 * Wire types of a running test's live log: the agent posts its output in small numbered chunks
 * (POST /api/v1/leases/{lease_id}/jobs/{job_id}/log), watchers follow it as server-sent events
 * (GET /api/v1/jobs/{id}/log/events). The finished log is the attempt's `output.log` artifact.
 */
import { z } from "zod";
import { JobStatus } from "./schemas.js";

/**
 * One chunk's bytes at most. A chunk crosses replicas as one Postgres NOTIFY, whose payload must
 * stay under 8000 bytes: 4 KiB is 5.5 KB of base64 with room for the header.
 */
export const LOG_CHUNK_MAX_BYTES = 4096;
/** Chunks in one post: 256 KiB, the most an agent buffers per job. */
export const LOG_CHUNKS_PER_POST = 64;

/** Bytes that base64 text decodes to. */
const decodedBytes = (b64: string) => (b64.length / 4) * 3 - b64.match(/=*$/)![0].length;

const Base64 = z
  .string()
  .max(Math.ceil(LOG_CHUNK_MAX_BYTES / 3) * 4)
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, "base64")
  .refine((s) => decodedBytes(s) <= LOG_CHUNK_MAX_BYTES, `at most ${LOG_CHUNK_MAX_BYTES} bytes`);

export const LogChunksRequest = z.strictObject({
  attempt: z.number().int().min(1).max(100),
  /** Bytes of this attempt's output the agent dropped so far (its buffer was full). */
  dropped_bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  chunks: z
    .array(
      z.strictObject({
        /** Numbered from 0 per attempt: a repeated post is recognised, a gap is a dropped chunk. */
        seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        data: Base64,
      }),
    )
    .min(1)
    .max(LOG_CHUNKS_PER_POST),
});
export type LogChunksRequest = z.infer<typeof LogChunksRequest>;

export const LogChunksResponse = z.object({ accepted: z.number().int() });

/** The `log` event: one chunk as UTF-8 text (the agent cuts chunks between characters). */
export const LogEvent = z.object({
  attempt: z.number().int(),
  seq: z.number().int(),
  text: z.string(),
  dropped_bytes: z.number().int(),
});
export type LogEvent = z.infer<typeof LogEvent>;

/** The `end` event: the job finished; the stream closes. */
export const LogEnd = z.object({ status: JobStatus, attempt: z.number().int() });
export type LogEnd = z.infer<typeof LogEnd>;

/** Event ids are `<attempt>.<seq>`: a watcher resumes after the last chunk it printed. */
export const LogEventId = z.string().regex(/^\d{1,3}\.\d{1,15}$/, "a log event id");

export const logEventId = (attempt: number, seq: number) => `${attempt}.${seq}`;

export function parseLogEventId(id: string): { attempt: number; seq: number } {
  const [attempt, seq] = id.split(".").map(Number);
  return { attempt: attempt!, seq: seq! };
}
