/**
 * Wire types of a lease's device record: what the device actually did for the lease (installs,
 * sessions opened, time spent installing and starting sessions) and what it holds afterwards.
 * Posted by agents that own their device session (`qgjob agent --udid`); shown on each attempt
 * of the lease's jobs (GET /api/v1/jobs/{id}/artifacts) and summed on the dashboard's run page.
 */
import { z } from "zod";
import { AppVersionId } from "./schemas.js";

const WEEK_MS = 7 * 24 * 3600 * 1000;
const Ms = z.number().int().min(0).max(WEEK_MS);

export const SetupMs = z.strictObject({
  /** Installing the build on the device (0 when it was there already). */
  install: Ms,
  /** Opening every Appium session of the lease (one per test). */
  session: Ms,
});

export const LeaseDeviceRequest = z.strictObject({
  installs: z.number().int().min(0).max(1000),
  sessions: z.number().int().min(0).max(100_000),
  setup_ms: SetupMs,
  /**
   * The app versions on the device after the lease, most recently installed first: the
   * scheduler's install affinity for this agent from now on (instead of what the lease granted).
   */
  installed: z.array(AppVersionId).max(100).optional(),
});
export type LeaseDeviceRequest = z.input<typeof LeaseDeviceRequest>;

export const LeaseDevice = z.object({
  lease_id: z.string(),
  agent_id: z.string(),
  app_version_id: z.string(),
  installs: z.number().int(),
  sessions: z.number().int(),
  setup_ms: z.object({ install: z.number().int(), session: z.number().int() }),
  reported_at: z.string().describe("ISO 8601"),
});
export type LeaseDevice = z.infer<typeof LeaseDevice>;
