/**
 * What each API operation answers on success, by method and path pattern, in api/schemas' types:
 * the harness's client types a reply's body by the path a test calls (see `Answer`). The patterns
 * are the paths of the server's OpenAPI document (GET /api/v1/openapi.json, listed here too
 * though the document leaves itself out).
 */
import type { JobArtifacts } from "../api/artifacts.js";
import type { Blob } from "../api/blobs.js";
import type { LeaseDevice } from "../api/devices.js";
import type {
  Agent,
  CreatedToken,
  HeartbeatResponse,
  Job,
  Lease,
  Quarantine,
  QueueOverview,
  RegisteredAgent,
  RerunFailedResponse,
  ResultResponse,
  Run,
  RunWithJobs,
  TestDetail,
  TestSummary,
  Token,
} from "../api/schemas.js";

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Events and downloads answer text here: the harness only parses JSON. */
export interface Operations {
  GET: {
    "/api/v1/runs": Page<Run>;
    "/api/v1/runs/{id}": RunWithJobs;
    "/api/v1/runs/{id}/wait": RunWithJobs;
    "/api/v1/runs/{id}/events": string;
    "/api/v1/jobs": Page<Job>;
    "/api/v1/jobs/{id}": Job;
    "/api/v1/jobs/{id}/wait": Job;
    "/api/v1/jobs/{id}/log/events": string;
    "/api/v1/jobs/{id}/artifacts": JobArtifacts;
    "/api/v1/jobs/{id}/attempts/{attempt}/artifacts/{index}": string;
    "/api/v1/tests": Page<TestSummary>;
    "/api/v1/tests/{id}": TestDetail;
    "/api/v1/quarantines": { items: Quarantine[] };
    "/api/v1/agents": { items: Agent[] };
    "/api/v1/agents/{id}": Agent;
    "/api/v1/leases/{lease_id}/events": string;
    "/api/v1/blobs/{sha256}": string;
    "/api/v1/queue": QueueOverview;
    "/api/v1/tokens": { items: Token[] };
    "/api/v1/openapi.json": OpenApiDocument;
    "/status/{job_id}": CompatJob;
  };
  POST: {
    "/api/v1/runs": RunWithJobs;
    "/api/v1/runs/{id}/cancel": Run;
    "/api/v1/runs/{id}/rerun-failed": RerunFailedResponse;
    "/api/v1/jobs": Job;
    "/api/v1/jobs/{id}/cancel": Job;
    "/api/v1/quarantines": Quarantine;
    "/api/v1/quarantines/end": null;
    "/api/v1/agents": RegisteredAgent;
    "/api/v1/agents/{id}/undrain": Agent;
    "/api/v1/agents/{id}/heartbeat": HeartbeatResponse;
    "/api/v1/agents/{id}/lease": ByStatus<{ 200: Lease; 204: null }>;
    "/api/v1/leases/{lease_id}/jobs/{job_id}/start": Job;
    "/api/v1/leases/{lease_id}/jobs/{job_id}/result": ResultResponse;
    "/api/v1/leases/{lease_id}/jobs/{job_id}/log": { accepted: number };
    "/api/v1/leases/{lease_id}/device": LeaseDevice;
    "/api/v1/leases/{lease_id}/release": { requeued: number };
    "/api/v1/tokens": CreatedToken;
    "/api/v1/tokens/{id}/revoke": Token;
    "/submit-job": CompatJob;
  };
  PUT: {
    "/api/v1/blobs/{sha256}": Blob;
  };
}

/** An operation whose body depends on which success it answers. */
export interface ByStatus<S> {
  readonly byStatus: S;
}

/** Paths that answer JSON, errors as `ErrorBody`. */
export type ApiPath = `/api/${string}` | "/submit-job" | `/status/${string}`;

/** The OpenAPI document, as far as tests read it: operations by path and method, and tags. */
interface OpenApiDocument {
  paths: Record<string, Record<string, { tags?: string[] }>>;
  tags: { name: string }[];
}

/** The seed's routes answer a job with its id again under `job_id`. */
type CompatJob = Job & { job_id: string };

export type Method = keyof Operations;

type Segments<P extends string> = P extends `${infer Head}/${infer Tail}`
  ? [Head, ...Segments<Tail>]
  : [P];

type WithoutQuery<P extends string> = P extends `${infer Path}?${string}` ? Path : P;

/** A `{param}` segment matches anything; any other segment only itself. */
type SameShape<Pattern extends string[], Got extends string[]> = Pattern extends [
  infer A extends string,
  ...infer RestA extends string[],
]
  ? Got extends [infer B extends string, ...infer RestB extends string[]]
    ? A extends `{${string}}`
      ? SameShape<RestA, RestB>
      : [B] extends [A]
        ? SameShape<RestA, RestB>
        : false
    : false
  : Got extends []
    ? true
    : false;

type Matching<M extends Method, P extends string> = {
  [K in keyof Operations[M] & string]: SameShape<
    Segments<K>,
    Segments<WithoutQuery<P>>
  > extends true
    ? Operations[M][K]
    : never;
}[keyof Operations[M] & string];

/**
 * The success body of `method path`; outside the API (pages, /metrics) text, and `unknown` for a
 * path the type system cannot read (a plain `string`): write the path as a template literal.
 */
export type Answer<M extends string, P extends string> = P extends
  `/api/${string}` | "/submit-job" | `/status/${string}`
  ? M extends Method
    ? [Matching<M, P>] extends [never]
      ? unknown
      : Matching<M, P>
    : unknown
  : string extends P
    ? unknown
    : string;
