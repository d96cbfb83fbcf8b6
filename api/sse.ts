/**
 * Reading server-sent events from a fetch body (the WHATWG event-stream format, the parts qgjob
 * sends: `event`, `data`, `id`, comments; lines end in LF or CRLF). A line longer than `maxLineBytes` ends the
 * stream with an error instead of growing a buffer without bound.
 */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export class SseProtocolError extends Error {}

export async function* readSse(
  body: ReadableStream<Uint8Array>,
  maxLineBytes = 16 * 1024 * 1024,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  let id: string | null = null;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    const scanFrom = buffer.length;
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl = buffer.indexOf("\n", scanFrom);
    for (; nl >= 0; start = nl + 1, nl = buffer.indexOf("\n", start)) {
      const line = buffer.slice(start, buffer[nl - 1] === "\r" ? nl - 1 : nl);
      if (line === "") {
        if (data.length > 0) yield { event, data: data.join("\n"), id };
        event = "message";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    buffer = buffer.slice(start);
    if (buffer.length > maxLineBytes) throw new SseProtocolError("event stream line too long");
  }
}
