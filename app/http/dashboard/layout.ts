/** The page shell every dashboard page shares: head, navigation, who is looking. */
import { html, type Html } from "./html.js";

export type Section = "runs" | "tests" | "queue" | "agents" | null;

export interface Viewer {
  /** The org the token is scoped to; null for fleet tokens and open mode. */
  orgId: string | null;
  /** Whether a session cookie is in use (then a sign-out button is shown). */
  signedIn: boolean;
  /** Whether cancel and re-run buttons may be offered. */
  canSubmit: boolean;
}

const NAV: { section: Exclude<Section, null>; href: string; label: string }[] = [
  { section: "runs", href: "/", label: "Runs" },
  { section: "tests", href: "/tests", label: "Tests" },
  { section: "queue", href: "/queue", label: "Queue" },
  { section: "agents", href: "/agents", label: "Agents" },
];

export function page(opts: {
  title: string;
  section: Section;
  viewer: Viewer | null;
  body: Html;
}): Html {
  const { viewer } = opts;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${opts.title} · qgjob</title>
        <link rel="stylesheet" href="/dashboard/style.css" />
        <script src="/dashboard/live.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/">qgjob</a>
          ${
            viewer &&
            html`<nav aria-label="Sections">
                <ul>
                  ${NAV.map(
                    (n) =>
                      html`<li>
                        <a
                          href="${n.href}"
                          ${n.section === opts.section ? html` aria-current="page"` : ""}
                          >${n.label}</a
                        >
                      </li>`,
                  )}
                </ul>
              </nav>
              <div class="who">
                <span
                  >${viewer.orgId !== null ? html`org <strong>${viewer.orgId}</strong>` : viewer.signedIn ? "all orgs" : "all orgs · open mode"}</span
                >
                ${viewer.signedIn && html`<form method="post" action="/logout"><button type="submit">Sign out</button></form>`}
              </div>`
          }
        </header>
        <main id="main">${opts.body}</main>
      </body>
    </html> `;
}

/** A page region the live script refreshes in place; `id` must be unique on the page. */
export function live(id: string, content: Html): Html {
  return html`<div id="${id}" data-live>${content}</div>`;
}

/**
 * Where the live script hears of changes: an event stream of the page's run. Without one (or
 * where the browser has no EventSource, or the stream is refused) it refetches every 2 s.
 */
export function liveEvents(href: string): Html {
  return html`<div hidden data-events="${href}"></div>`;
}

export function errorPage(viewer: Viewer | null, title: string, message: string): Html {
  return page({
    title,
    section: null,
    viewer,
    body: html`<h1>${title}</h1>
      <p class="error" role="alert">${message}</p>
      <p><a href="/">Back to runs</a></p>`,
  });
}
