import { describe, expect, it } from "vitest";
import { escapeHtml, html } from "./html.js";

describe("html", () => {
  it("escapes every interpolated string, in text and in attributes", () => {
    const path = `tests/<script>alert("x")</script>.spec.ts`;
    const out = html`<td title="${path}">${path}</td>`.text;
    expect(out).toBe(
      '<td title="tests/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;.spec.ts">' +
        "tests/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;.spec.ts</td>",
    );
    expect(out).not.toContain("<script>");
  });

  it("keeps nested templates as markup and escapes their values once", () => {
    const cell = (v: string) => html`<td>${v}</td>`;
    const row = html`<tr>
      ${[cell("a&b"), cell("'q'")]}
    </tr>`.text;
    expect(row).toContain("<td>a&amp;b</td><td>&#39;q&#39;</td>");
  });

  it("renders null, undefined and false as nothing, numbers as text", () => {
    expect(html`[${null}${undefined}${false}${0}${true}]`.text).toBe("[0true]");
  });

  it("escapes an ampersand before the entities it produces", () => {
    expect(escapeHtml("&lt;")).toBe("&amp;lt;");
  });
});
