/**
 * Test history and quarantines as the API, the CLI and the dashboard ask for them: which org a
 * quarantine is for, how long it lasts, and who may end it. The numbers themselves are folded in
 * the result's transaction (store/history.ts); this reads them and manages quarantines.
 */
import type { ListTestsQuery, QuarantineInput } from "../api/schemas.js";
import { notFound, QgjobError } from "./errors.js";
import { requireOrg } from "./runs.js";
import type { OrgScope, QuarantineRecord, Store, TestView } from "./store/store.js";

/** The org a request is for: an org token's own, or the one a fleet caller names. */
export function orgOfRequest(scope: OrgScope, orgId: string | undefined): string {
  const org = orgId ?? scope.orgId;
  if (org === null) {
    throw new QgjobError("invalid_request", "give org_id: a fleet token acts for every org", {
      field: "org_id",
    });
  }
  requireOrg(scope, org);
  return org;
}

export class TestService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
  ) {}

  list(query: ListTestsQuery, scope: OrgScope) {
    return this.store.listTests(query, scope, this.clock());
  }

  async get(id: string, scope: OrgScope): Promise<TestView> {
    const test = await this.store.getTest(id, scope, this.clock());
    if (!test) throw notFound("test", id);
    return test;
  }

  /** Quarantines a test file of an org (on every target and repository) from now on. */
  quarantine(scope: OrgScope, input: QuarantineInput): Promise<QuarantineRecord> {
    const now = this.clock();
    return this.store.quarantineTest({
      orgId: orgOfRequest(scope, input.org_id),
      testPath: input.test_path,
      reason: input.reason,
      owner: input.owner ?? null,
      automatic: false,
      createdAt: now,
      expiresAt: now + input.expires_in_s * 1000,
    });
  }

  /** Ends a quarantine now: the test's next failures fail their runs again. */
  async unquarantine(scope: OrgScope, orgId: string | undefined, testPath: string) {
    const org = orgOfRequest(scope, orgId);
    if (!(await this.store.unquarantineTest(org, testPath, this.clock()))) {
      throw new QgjobError("not_found", `${testPath} is not quarantined in org ${org}`);
    }
  }

  quarantines(scope: OrgScope) {
    return this.store.listQuarantines(scope, this.clock());
  }
}
