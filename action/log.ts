/** Where the modules write their log lines: core's in the Action, an array in unit tests. */
import * as core from "@actions/core";

export interface Log {
  info(line: string): void;
  warning(line: string): void;
  /** A collapsible group in the step's log (`::group::`), holding `body`. */
  group(title: string, body: string): void;
}

export const coreLog: Log = {
  info: (line) => core.info(line),
  warning: (line) => core.warning(line),
  group: (title, body) => {
    core.startGroup(title);
    core.info(body);
    core.endGroup();
  },
};

/** A Log that keeps its lines, for tests. */
export function memoryLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (line) => void lines.push(line),
    warning: (line) => void lines.push(`warning: ${line}`),
    group: (title, body) => void lines.push(`::group::${title}`, body, "::endgroup::"),
  };
}
