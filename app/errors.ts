/**
 * A failure the caller can act on. Store and routes throw these; the HTTP layer maps each code to
 * a status (app/http/errors.ts). Anything else reaching a client is a bug and answers 500.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  link_expired: 401,
  forbidden: 403,
  not_found: 404,
  misdirected_request: 421,
  lease_active: 409,
  lease_lost: 409,
  stale_lease: 409,
  job_finished: 409,
  result_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_mismatch: 422,
  hash_mismatch: 422,
  invalid_bundle: 422,
  unknown_blob: 422,
  test_not_in_bundle: 422,
  range_not_satisfiable: 416,
  rate_limited: 429,
  unavailable: 503,
  storage_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class QgjobError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "QgjobError";
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string, id: string) =>
  new QgjobError("not_found", `${what} ${id} not found`);
