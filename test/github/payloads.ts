/**
 * Webhook payloads shaped like the examples in GitHub's webhook documentation (push,
 * workflow_dispatch, check_run, check_suite, merge_group), trimmed to realistic but fixed values.
 */
export const INSTALLATION = { id: 42424242, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };

function repository(owner: string, name: string) {
  return {
    id: 186853002,
    node_id: "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
    name,
    full_name: `${owner}/${name}`,
    private: false,
    owner: {
      name: owner,
      login: owner,
      id: 21031067,
      node_id: "MDQ6VXNlcjIxMDMxMDY3",
      type: "Organization",
      site_admin: false,
    },
    html_url: `https://github.com/${owner}/${name}`,
    default_branch: "main",
    master_branch: "main",
  };
}

const sender = {
  login: "octocat",
  id: 21031067,
  node_id: "MDQ6VXNlcjIxMDMxMDY3",
  type: "User",
  site_admin: false,
};

export function pushPayload(
  owner: string,
  repo: string,
  sha: string,
  ref = "refs/heads/main",
  installation: { id: number; node_id: string } = INSTALLATION,
) {
  return {
    ref,
    before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    after: sha,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${owner}/${repo}/compare/6113728f27ae...${sha.slice(0, 12)}`,
    commits: [
      {
        id: sha,
        tree_id: "f9d2a07e9488b91af2641b26b9407fe22a451433",
        distinct: true,
        message: "Add the onboarding tests",
        timestamp: "2026-11-21T12:00:00Z",
        url: `https://github.com/${owner}/${repo}/commit/${sha}`,
        author: { name: "Monalisa Octocat", email: "mona@github.com", username: "octocat" },
        committer: { name: "Monalisa Octocat", email: "mona@github.com", username: "octocat" },
        added: [],
        removed: [],
        modified: [".github/qgjob.yml"],
      },
    ],
    head_commit: null,
    repository: repository(owner, repo),
    pusher: { name: "octocat", email: "mona@github.com" },
    sender,
    installation,
  };
}

export function workflowDispatchPayload(
  owner: string,
  repo: string,
  ref: string,
  inputs: Record<string, string>,
) {
  return {
    inputs,
    ref,
    repository: repository(owner, repo),
    sender,
    installation: INSTALLATION,
    workflow: ".github/workflows/qgjob.yml",
  };
}

export function checkRunPayload(
  action: "rerequested" | "requested_action",
  owner: string,
  repo: string,
  checkRun: { id: number; name: string; head_sha: string; external_id: string },
  identifier?: string,
) {
  return {
    action,
    check_run: {
      id: checkRun.id,
      node_id: "MDg6Q2hlY2tSdW4xMjg2MjAyMjg=",
      head_sha: checkRun.head_sha,
      external_id: checkRun.external_id,
      url: `https://api.github.com/repos/${owner}/${repo}/check-runs/${checkRun.id}`,
      status: "completed",
      conclusion: "failure",
      name: checkRun.name,
      check_suite: { id: 118578147, head_branch: "main", head_sha: checkRun.head_sha },
      app: { id: 1234, slug: "qgjob", name: "qgjob" },
      pull_requests: [],
    },
    ...(identifier ? { requested_action: { identifier } } : {}),
    repository: repository(owner, repo),
    sender,
    installation: INSTALLATION,
  };
}

const MONA = { name: "Monalisa Octocat", email: "mona@github.com" };

const headCommit = (sha: string, message: string, committer: { name: string; email: string }) => ({
  id: sha,
  tree_id: "f9d2a07e9488b91af2641b26b9407fe22a451433",
  message,
  timestamp: "2026-11-21T12:00:00Z",
  author: MONA,
  committer,
});

export function checkSuitePayload(owner: string, repo: string, sha: string, branch = "main") {
  return {
    action: "rerequested",
    check_suite: {
      id: 118578147,
      node_id: "MDEwOkNoZWNrU3VpdGUxMTg1NzgxNDc=",
      head_branch: branch,
      head_sha: sha,
      status: "completed",
      conclusion: "failure",
      before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      after: sha,
      pull_requests: [],
      app: { id: 1234, slug: "qgjob", name: "qgjob" },
      head_commit: headCommit(sha, "Add the onboarding tests", MONA),
    },
    repository: repository(owner, repo),
    sender,
    installation: INSTALLATION,
  };
}

export function mergeGroupPayload(owner: string, repo: string, sha: string, base = "main") {
  return {
    action: "checks_requested",
    merge_group: {
      head_sha: sha,
      head_ref: `refs/heads/gh-readonly-queue/${base}/pr-17-6113728f27ae82c7b1a177c8d03f9e96e0adf246`,
      base_sha: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
      base_ref: `refs/heads/${base}`,
      head_commit: headCommit(sha, "Merge pull request #17 from acme/onboarding", {
        name: "GitHub",
        email: "noreply@github.com",
      }),
    },
    repository: repository(owner, repo),
    sender,
    installation: INSTALLATION,
  };
}
