import { describe, expect, it } from "vitest";
import { ansiToHtml } from "./ansi.js";

describe("ansiToHtml", () => {
  it("turns colour and style sequences into classed spans and resets them", () => {
    expect(ansiToHtml("ok \x1b[31mError:\x1b[39m \x1b[1;92mdiff\x1b[0m end").text).toBe(
      'ok <span class="ansi-fg-1">Error:</span> <span class="ansi-fg-10 ansi-bold">diff</span> end',
    );
  });

  it("escapes the text and drops other escape sequences, so a log cannot become markup", () => {
    const out = ansiToHtml(
      '\x1b[2K\x1b[1G<img src=x onerror="alert(1)">\x1b]0;title\x07 & \x1b[31m<b>',
    ).text;
    expect(out).toBe(
      '&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; <span class="ansi-fg-1">&lt;b&gt;</span>',
    );
  });

  it("keeps the 16 base colours of 256-colour codes and skips truecolour", () => {
    expect(ansiToHtml("\x1b[38;5;9mred\x1b[38;2;1;2;3m still\x1b[48;5;200mx").text).toBe(
      '<span class="ansi-fg-9">red</span><span class="ansi-fg-9"> still</span><span class="ansi-fg-9">x</span>',
    );
  });
});
