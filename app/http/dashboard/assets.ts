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
code { font-family: ui-monospace, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
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
.s-passed, .s-idle { color: var(--ok); } .s-failed, .s-error, .s-timed_out, .s-lost { color: var(--bad); }
.s-running, .s-leased, .s-busy { color: var(--accent); } .s-cancelled, .s-queued { color: var(--muted); }
.tag { font-size: 0.75rem; border: 1px solid var(--line); border-radius: 10px; padding: 0 6px; }
pre.failure { white-space: pre-wrap; overflow-x: auto; border-left: 3px solid var(--line); padding: 4px 8px; }
.evidence { list-style: none; padding: 0; }
.missing { color: #a33; }
.flaky { border-color: var(--warn); color: var(--warn); }
.place { color: var(--bad); } .muted, .empty { color: var(--muted); }
.error { color: var(--bad); font-weight: 600; }
.next li { margin: 4px 0; }
/* Phones: each row becomes a card of labelled lines. */
@media (max-width: 720px) {
  table.cards thead { position: absolute; left: -9999px; }
  table.cards tr { display: block; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 10px; padding: 4px 8px; }
  table.cards td { display: block; position: relative; border: 0; padding: 3px 0 3px 8.5em; min-height: 1.8em; overflow-wrap: anywhere; }
  table.cards td:empty { display: none; }
  table.cards td::before { content: attr(data-label); position: absolute; left: 0; width: 8em; color: var(--muted); font-size: 0.85rem; }
}
`;

/** Every 2 s, fetch the same page and swap each live region whose markup changed. */
export const LIVE_SCRIPT = `"use strict";
(() => {
  const regions = () => Array.from(document.querySelectorAll("[data-live]"));
  if (regions().length === 0) return;
  let busy = false;
  async function refresh() {
    if (busy || document.hidden) return;
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
      // The server is restarting or the network blinked: the next tick tries again.
    } finally {
      busy = false;
    }
  }
  setInterval(refresh, 2000);
})();
`;
