/**
 * The dashboard's only stylesheet and script, served as they are (no build step). The script is
 * progressive: without it every page still works, it just does not refresh itself.
 */

export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de;
  --accent: #0969da; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --soft: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0;
  --line: #30363d; --accent: #4493f8; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --soft: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.top { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: center; padding: 10px 16px; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.who { margin-left: auto; display: flex; gap: 12px; align-items: center; color: var(--muted); }
.who form { margin: 0; }
main { padding: 8px 16px 32px; max-width: 1400px; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
.id { font-family: ui-monospace, monospace; font-size: 1rem; word-break: break-all; }
/* break-word, not anywhere: "anywhere" lets a table squeeze a column to a few characters a line. */
code { font-family: ui-monospace, monospace; font-size: 0.9em; overflow-wrap: break-word; }
code.path > span { display: inline-block; max-width: 100%; }
th.test { width: 30%; }
@media (min-width: 721px) { td.nowrap { white-space: nowrap; } }
td .id { font-size: 0.8rem; color: var(--muted); }
details.history { font-size: 0.85rem; margin-top: 2px; } details.history ol { margin: 4px 0; padding-left: 1.4em; }
button, input, select { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--soft); color: var(--fg); }
button { cursor: pointer; }
.filters, .login { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: end; margin-bottom: 12px; }
.filters label, .login label { display: flex; flex-direction: column; font-size: 0.85rem; color: var(--muted); }
.actions { display: flex; gap: 8px; margin: 12px 0; } .actions form { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85rem; color: var(--muted); }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px 16px; }
.summary dt { font-size: 0.85rem; color: var(--muted); } .summary dd { margin: 0; }
.status { font-weight: 600; white-space: nowrap; }
.s-passed, .s-idle { color: var(--ok); } .s-failed, .s-error, .s-timed_out, .s-lost, .s-drained { color: var(--bad); }
.s-running, .s-leased, .s-busy { color: var(--accent); } .s-cancelled, .s-queued { color: var(--muted); }
.tag { font-size: 0.75rem; border: 1px solid var(--line); border-radius: 10px; padding: 0 6px; }
pre.failure { white-space: pre-wrap; overflow-x: auto; border-left: 3px solid var(--line); padding: 4px 8px; }
pre.live-log { white-space: pre-wrap; max-height: 32em; overflow-y: auto; border-left: 3px solid var(--line); padding: 4px 8px; }
.evidence { list-style: none; padding: 0; }
.missing { color: #a33; }
.media { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0; }
.media figure { margin: 0; max-width: min(100%, 420px); }
.media img, .media video { max-width: 100%; max-height: 480px; border: 1px solid var(--line); display: block; }
.media figcaption { font-size: 0.85rem; color: var(--muted); }
pre.log { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 32rem; overflow-y: auto; background: #0d1117; color: #e6edf3; padding: 8px; border-radius: 6px; font-size: 0.85rem; }
.ansi-bold { font-weight: 700; } .ansi-dim { opacity: 0.7; } .ansi-italic { font-style: italic; } .ansi-underline { text-decoration: underline; }
.ansi-fg-0 { color: #6e7681; } .ansi-fg-1 { color: #ff7b72; } .ansi-fg-2 { color: #3fb950; } .ansi-fg-3 { color: #d29922; }
.ansi-fg-4 { color: #58a6ff; } .ansi-fg-5 { color: #bc8cff; } .ansi-fg-6 { color: #39c5cf; } .ansi-fg-7 { color: #b1bac4; }
.ansi-fg-8 { color: #8b949e; } .ansi-fg-9 { color: #ffa198; } .ansi-fg-10 { color: #56d364; } .ansi-fg-11 { color: #e3b341; }
.ansi-fg-12 { color: #79c0ff; } .ansi-fg-13 { color: #d2a8ff; } .ansi-fg-14 { color: #56d4dd; } .ansi-fg-15 { color: #ffffff; }
.ansi-bg-0 { background: #484f58; } .ansi-bg-1 { background: #8e1519; } .ansi-bg-2 { background: #0f5323; } .ansi-bg-3 { background: #693e00; }
.ansi-bg-4 { background: #0c2d6b; } .ansi-bg-5 { background: #4c2889; } .ansi-bg-6 { background: #0a3d45; } .ansi-bg-7 { background: #6e7681; }
.ansi-bg-8 { background: #6e7681; } .ansi-bg-9 { background: #b62324; } .ansi-bg-10 { background: #196c2e; } .ansi-bg-11 { background: #845306; }
.ansi-bg-12 { background: #1158c7; } .ansi-bg-13 { background: #6e40c9; } .ansi-bg-14 { background: #1b7c83; } .ansi-bg-15 { background: #b1bac4; }
.flaky { border-color: var(--warn); color: var(--warn); }
.quarantined { border-color: var(--muted); color: var(--muted); }
.spark { vertical-align: middle; }
.spark .o-passed { fill: var(--ok); } .spark .o-flaky { fill: var(--warn); }
.spark .o-failed { fill: var(--bad); } .spark .o-error { fill: var(--muted); }
.status.o-passed { color: var(--ok); } .status.o-flaky { color: var(--warn); }
.status.o-failed { color: var(--bad); } .status.o-error { color: var(--muted); }
.place { color: var(--bad); } .muted, .empty { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
.next li { margin: 4px 0; }
/* Phones: each row becomes a card of labelled lines. */
@media (max-width: 720px) {
  table.cards, table.cards tbody { display: block; }
  table.cards thead { position: absolute; left: -9999px; }
  table.cards tr { display: block; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 10px; padding: 4px 8px; }
  table.cards td { display: block; position: relative; border: 0; padding: 3px 0 3px 8.5em; min-height: 1.8em; overflow-wrap: break-word; }
  table.cards td:empty { display: none; }
  table.cards td::before { content: attr(data-label); position: absolute; left: 0; width: 8em; color: var(--muted); font-size: 0.85rem; }
}
`;

/**
 * Keeps live regions current: the page follows its run's event stream (data-events) and fetches
 * itself once the stream opens and once per burst of changes, swapping each live region whose markup changed. Where there
 * is no stream (a page without one, a browser without EventSource, a stream refused or closed
 * for good) it fetches itself every 2 s instead. A live log (data-log) gets each chunk appended
 * as it comes, keeping its last 256 KiB.
 */
export const LIVE_SCRIPT = `"use strict";
(() => {
  const regions = () => Array.from(document.querySelectorAll("[data-live]"));
  const logs = Array.from(document.querySelectorAll("[data-log]"));
  if (regions().length === 0 && logs.length === 0) return;
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const res = await fetch(location.href, { cache: "no-store", credentials: "same-origin" });
      // Signed out or gone: leave the page as it is rather than paint a login form into it.
      if (!res.ok || res.redirected) return;
      const next = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const region of regions()) {
        const fresh = next.getElementById(region.id);
        if (!fresh || fresh.innerHTML === region.innerHTML) continue;
        // Never pull the element a keyboard user is on out from under them.
        if (region.contains(document.activeElement) && document.activeElement !== document.body) continue;
        region.innerHTML = fresh.innerHTML;
      }
      document.title = next.title;
    } catch {
      // The server is restarting or the network blinked: the next change or tick tries again.
    } finally {
      busy = false;
      if (again) { again = false; soon(); }
    }
  }
  let timer = null;
  function soon() {
    if (timer === null) timer = setTimeout(() => { timer = null; void refresh(); }, 200);
  }
  let polling = null;
  function poll() {
    if (polling === null && regions().length > 0) {
      polling = setInterval(() => { if (!document.hidden) void refresh(); }, 2000);
    }
  }
  const source = document.querySelector("[data-events]");
  if (!source || typeof EventSource === "undefined") {
    poll();
  } else {
    const events = new EventSource(source.getAttribute("data-events"));
    // The stream opens after the page was rendered: its first event (the run as it is now) may
    // already differ from the page, so it refreshes once too.
    events.addEventListener("snapshot", soon);
    events.addEventListener("job", soon);
    events.addEventListener("end", () => { events.close(); soon(); });
    // A refused stream (404, a proxy that strips it) closes for good: poll instead.
    events.addEventListener("error", () => {
      if (events.readyState === EventSource.CLOSED) poll();
    });
  }
  for (const log of logs) {
    if (typeof EventSource === "undefined") continue;
    const stream = new EventSource(log.getAttribute("data-log"));
    let first = true;
    stream.addEventListener("log", (e) => {
      const chunk = JSON.parse(e.data);
      const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      if (first) { log.textContent = ""; first = false; }
      const text = log.textContent + chunk.text;
      log.textContent = text.length > 262144 ? text.slice(-262144) : text;
      if (stick) log.scrollTop = log.scrollHeight;
    });
    stream.addEventListener("end", () => { stream.close(); soon(); });
  }
})();
`;
