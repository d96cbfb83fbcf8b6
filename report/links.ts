/**
 * The run's and its jobs' pages on the server's dashboard. The dashboard is served by the API
 * server itself, so the address a client reaches the API at is where its user reaches the pages.
 */
export interface Links {
  run: string;
  job(id: string): string;
}

export function dashboardLinks(serverUrl: string, runId: string): Links {
  // A page link is printed and shared: never with the credentials of the address it came from.
  const url = new URL(serverUrl);
  url.username = "";
  url.password = "";
  const base = url.toString().replace(/\/+$/, "");
  return {
    run: `${base}/runs/${encodeURIComponent(runId)}`,
    job: (id) => `${base}/jobs/${encodeURIComponent(id)}`,
  };
}
