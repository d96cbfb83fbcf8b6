/**
 * A terminal log as HTML: SGR colour and style sequences become spans with classes (the
 * stylesheet maps them to colours), every other escape sequence is dropped, and the text is
 * escaped. Only class names this module makes reach the markup, never bytes from the log.
 */
import { escapeHtml, Html } from "./html.js";

interface Style {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Style = {
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
};

// CSI sequences (ESC [ params final), OSC sequences (ESC ] ... BEL or ESC \), other ESC pairs.
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const ESCAPES = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

function apply(style: Style, params: string): Style {
  const codes = params === "" ? [0] : params.split(";").map(Number);
  const next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) Object.assign(next, PLAIN);
    else if (c === 1) next.bold = true;
    else if (c === 2) next.dim = true;
    else if (c === 3) next.italic = true;
    else if (c === 4) next.underline = true;
    else if (c === 22) next.bold = next.dim = false;
    else if (c === 23) next.italic = false;
    else if (c === 24) next.underline = false;
    else if (c >= 30 && c <= 37) next.fg = String(c - 30);
    else if (c >= 90 && c <= 97) next.fg = String(c - 90 + 8);
    else if (c === 39) next.fg = null;
    else if (c >= 40 && c <= 47) next.bg = String(c - 40);
    else if (c >= 100 && c <= 107) next.bg = String(c - 100 + 8);
    else if (c === 49) next.bg = null;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      // 256 colours: the 16 base colours keep their class; the rest are left uncoloured.
      const n = codes[i + 2] ?? 0;
      if (n < 16) next[c === 38 ? "fg" : "bg"] = String(n);
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) i += 4; // truecolour: not kept
  }
  return next;
}

function classes(s: Style): string {
  const out: string[] = [];
  if (s.fg !== null) out.push(`ansi-fg-${s.fg}`);
  if (s.bg !== null) out.push(`ansi-bg-${s.bg}`);
  if (s.bold) out.push("ansi-bold");
  if (s.dim) out.push("ansi-dim");
  if (s.italic) out.push("ansi-italic");
  if (s.underline) out.push("ansi-underline");
  return out.join(" ");
}

export function ansiToHtml(text: string): Html {
  let out = "";
  let style = PLAIN;
  let last = 0;
  const emit = (chunk: string) => {
    if (chunk === "") return;
    const cls = classes(style);
    out += cls ? `<span class="${cls}">${escapeHtml(chunk)}</span>` : escapeHtml(chunk);
  };
  for (const m of text.matchAll(ESCAPES)) {
    emit(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] === "m") style = apply(style, m[1]!);
  }
  emit(text.slice(last));
  // Other control characters (a lone ESC, backspace) are not text a reader can use.
  // eslint-disable-next-line no-control-regex -- control characters are what it removes
  return new Html(out.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, ""));
}
