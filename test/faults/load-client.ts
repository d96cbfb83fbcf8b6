/**
 * A submitting client for the crash test, run as its own process: submits small runs back to
 * back to QGJOB_URL and prints one JSON line per acknowledged (2xx) submission. Connection errors
 * (the server being killed) and refusals are retried after a pause; they print nothing.
 */
const url = process.env.QGJOB_URL!;
const name = process.env.LOAD_NAME ?? "load";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (let n = 0; ; n++) {
  const tests = [`${name}-${n}-a.spec.js`, `${name}-${n}-b.spec.js`];
  try {
    const res = await fetch(`${url}/api/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ org_id: "acme", app_version_id: "crash", tests, max_attempts: 10 }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { id: string; jobs: { id: string; test_path: string }[] };
    if (res.status === 201) {
      process.stdout.write(
        JSON.stringify({ run: body.id, jobs: body.jobs.map((j) => [j.id, j.test_path]) }) + "\n",
      );
      await sleep(30);
    } else {
      await sleep(200);
    }
  } catch {
    await sleep(100);
  }
}
