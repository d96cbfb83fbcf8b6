/**
 * How much of a result's text the server keeps (QGJOB_RESULT_MESSAGE_MAX,
 * QGJOB_RESULT_LOG_TAIL_MAX): a message keeps its head (the assertion comes first), a log tail
 * its end (the last lines are the point). A result over a cap is kept, cut, never refused: a
 * refused result would run the test again.
 */
import type { ResultInput } from "../api/schemas.js";

export interface ResultCaps {
  /** Characters of `message` kept. */
  messageMax: number;
  /** Characters of `log_tail` kept. */
  logTailMax: number;
}

export function capHead(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `\n… [cut: ${text.length - max} more characters]`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

export function capTail(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `[cut: ${text.length - max} earlier characters] …\n`;
  return note + text.slice(text.length - Math.max(0, max - note.length));
}

export function capResult(result: ResultInput, caps: ResultCaps): ResultInput {
  const { message, log_tail } = result;
  return {
    ...result,
    ...(message === undefined ? {} : { message: capHead(message, caps.messageMax) }),
    ...(log_tail === undefined ? {} : { log_tail: capTail(log_tail, caps.logTailMax) }),
  };
}
