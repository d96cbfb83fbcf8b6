/**
 * GitHub's documented limits on what a check run carries. The API's description says
 * "characters", but GitHub counts UTF-8 bytes ("summary exceeds a maximum bytesize of 65535"):
 * a status icon is 3 bytes, a CJK character 3, an emoji 4. Everything sent is measured in bytes.
 */

/** output.summary and output.text. */
export const MAX_OUTPUT_BYTES = 65_535;
/** An annotation's message and raw_details ("64 KB"). */
export const MAX_ANNOTATION_BYTES = 65_535;
/** An annotation's title, and the output's title. */
export const MAX_TITLE_CHARS = 255;
/** Annotations in one create or update: more go in later updates, which append. */
export const ANNOTATIONS_PER_REQUEST = 50;

export const utf8Bytes = (text: string) => Buffer.byteLength(text, "utf8");

/**
 * At most `maxBytes` of UTF-8, cut at a character boundary (never inside a multi-byte sequence),
 * with `tail` after a cut.
 */
export function clipBytes(text: string, maxBytes: number, tail = "…"): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const buf = Buffer.from(text, "utf8");
  let end = Math.max(0, maxBytes - utf8Bytes(tail));
  // Continuation bytes are 10xxxxxx: step back to the start of the character being cut.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8") + tail;
}

/** At most `max` characters (code points, so a surrogate pair is never split). */
export function clipChars(text: string, max: number, tail = "…"): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max - Array.from(tail).length).join("") + tail;
}
