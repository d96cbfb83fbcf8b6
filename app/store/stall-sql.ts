/**
 * Live leases older than `$1` with a job still waiting to start, none running, and no attempt
 * of the lease started or finished since `$1`: the agent heartbeats but takes nothing forward.
 * Reads only live leases and, through jobs_lease and the attempts' primary key, their own jobs.
 * One text for both engines (`$1` stands for the same bound three times).
 */
export const STALLED_LEASES = `
select l.id from leases l
where l.ended_at is null and l.created_at < $1
  and exists (select 1 from jobs j where j.lease_id = l.id and j.status = 'leased')
  and not exists (select 1 from jobs j where j.lease_id = l.id and j.status = 'running')
  and not exists (
    select 1 from jobs j join job_attempts a on a.job_id = j.id
    where j.lease_id = l.id and a.lease_id = l.id
      and (a.started_at >= $1 or a.finished_at >= $1)
  )`;
