/**
 * A lease's device record (api/devices.ts): kept by the store, counted in /metrics, and, when
 * it says what the device holds, the agent's installed versions from then on, so the
 * scheduler's install affinity follows the device rather than what the lease granted.
 */
import type { LeaseDeviceRequest } from "../api/devices.js";
import type { Metrics } from "./metrics.js";
import { notFound } from "./errors.js";
import type { LeaseDeviceRecord, LeaseRecord, Store } from "./store/store.js";

export async function recordLeaseDevice(
  deps: { store: Store; metrics: Metrics; clock: () => number },
  lease: LeaseRecord,
  body: LeaseDeviceRequest,
): Promise<LeaseDeviceRecord> {
  const kept = await deps.store.recordLeaseDevice(
    lease.id,
    {
      installs: body.installs,
      sessions: body.sessions,
      installMs: body.setup_ms.install,
      sessionMs: body.setup_ms.session,
      installed: body.installed,
    },
    deps.clock(),
  );
  if (!kept) throw notFound("lease", lease.id);
  const { record, first } = kept;
  if (!first) return record; // the agent posted again (a lost answer): counted already
  const m = deps.metrics;
  m.deviceInstalls.inc({ target: lease.target }, record.installs);
  m.deviceSessions.inc({ target: lease.target }, record.sessions);
  if (record.installs > 0) m.deviceSetup.observe({ step: "install" }, record.installMs / 1000);
  if (record.sessions > 0) m.deviceSetup.observe({ step: "session" }, record.sessionMs / 1000);
  return record;
}
