/**
 * The writes a result carries on Postgres beside the job's own, as SQL for one statement's
 * CTEs. `when`: a condition the statement puts on all of them (guarded-reports.ts writes them
 * only if its guard held); the locked transaction passes none.
 */
import { sql, type SQL } from "drizzle-orm";
import { HELD_STATUSES } from "../../../api/status.js";
import { observedDurationMs } from "../rules.js";
import type { JobRecord } from "../store.js";
import type { PgContext } from "./context.js";
import type { Value } from "./lease-reads.js";

const ALWAYS = sql`true`;

/**
 * Folds a finished run time into the test's EWMA and the org's usage (usage.ts's `ewma` and
 * `decayUsage`, in SQL): two upserts for the caller's last statement. Each updates its row from
 * the row's newest version under its lock, so results posted at once on several replicas each
 * count. The inserted values are cast: a SELECT's parameters have no column to take a type from.
 */
export function durationWrites(
  ctx: PgContext,
  job: JobRecord,
  reportedMs: number,
  now: number,
  when: SQL = ALWAYS,
): SQL[] {
  const ms = observedDurationMs(reportedMs, job.startedAt, now);
  return durationUpserts(ctx, job, { ms, now }, when);
}

/** The upserts of `durationWrites` for a run time already observed; values may be placeholders. */
export function durationUpserts(
  ctx: PgContext,
  job: { orgId: Value<string>; testPath: Value<string>; target: Value<string> },
  { ms, now }: { ms: Value<number>; now: Value<number> },
  when: SQL = ALWAYS,
): SQL[] {
  const { ewmaAlpha, usageHalfLifeMs } = ctx.options.scheduler;
  return [
    sql`insert into test_durations as d (org_id, test_path, target, ewma_ms, samples, updated_at)
      select ${job.orgId}::text, ${job.testPath}::text, ${job.target}::text, ${ms}::float8, 1,
        ${now}::bigint where ${when}
      on conflict (org_id, test_path, target) do update
      set ewma_ms = d.ewma_ms + ${ewmaAlpha}::float8 * (excluded.ewma_ms - d.ewma_ms),
        samples = d.samples + 1, updated_at = excluded.updated_at`,
    sql`insert into org_usage as u (org_id, usage_ms, updated_at)
      select ${job.orgId}::text, ${ms}::float8, ${now}::bigint where ${when}
      on conflict (org_id) do update
      set usage_ms = u.usage_ms * power(0.5, greatest(excluded.updated_at - u.updated_at, 0)::float8
          / ${usageHalfLifeMs}) + excluded.usage_ms,
        updated_at = excluded.updated_at`,
  ];
}

/**
 * The lease's completion as one write; `settled`: a job whose leaving is written by the same
 * statement (its row still reads as open there, so it is not counted).
 */
export function leaseCompletion(
  leaseId: Value<string>,
  now: Value<number>,
  settled?: Value<string>,
  when: SQL = ALWAYS,
): SQL {
  return sql`update leases set ended_at = ${now}, end_reason = 'completed'
    where id = ${leaseId} and ended_at is null and ${when} and not exists (
      select 1 from jobs where lease_id = ${leaseId}
        and status in (${sql.join(
          HELD_STATUSES.map((s) => sql`${s}`),
          sql`, `,
        )})
        and id <> ${settled ?? ""})`;
}
