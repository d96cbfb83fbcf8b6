/**
 * What every client command shares: --url / QGJOB_URL, --token / QGJOB_TOKEN, --json, a
 * QgjobClient with short retries, one-line errors, and the meaning of an ApiError for scripts.
 * The token is only ever put in the Authorization header: never printed, never in a message.
 */
import { Command, Option } from "commander";
import { QgjobClient, type ApiError } from "../api/client.js";
import { ResourceId } from "../api/schemas.js";
import { VERSION } from "../app/version.js";
import { CliError, EXIT } from "./exit-codes.js";

export const DEFAULT_URL = "http://127.0.0.1:8000";

export interface ConnectionOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/**
 * Thrown by a command that has printed everything and only has an exit code left to give (a
 * failed test, a timed-out wait): runCli answers the code and prints nothing more.
 */
export class ExitStatus extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** A client command: connection options and errors printed as one `qgjob <cmd>: …` line. */
export function clientCommand(name: string): Command {
  return new Command(name)
    .addOption(new Option("--url <url>", `server URL (QGJOB_URL, default ${DEFAULT_URL})`))
    .addOption(new Option("--token <token>", "API token (QGJOB_TOKEN)"))
    .option("--json", "print JSON on stdout (no progress output)")
    .hook("preAction", quietOnClosedPipe)
    .configureOutput({
      outputError: (str, write) =>
        write(
          `qgjob ${name}: ${str
            .replace(/^error: /, "")
            .trim()
            .replace(/\s*\n\s*/g, " ")} (see qgjob ${name} --help)\n`,
        ),
    });
}

/** `qgjob status --json | head -1`: a reader that leaves early ends the command, not a stack trace. */
function quietOnClosedPipe() {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount("error") > 0) continue;
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

/** Help text shared by every client command, after its own examples. */
export const CONNECTION_HELP =
  "\nServer and token come from --url / QGJOB_URL and --token / QGJOB_TOKEN.\n" +
  "Exit codes: 0 passed, 1 a test failed or was cancelled, 2 usage or input error,\n" +
  "            3 server or network error, 4 timed out waiting.";

export function resolveUrl(opts: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): string {
  const raw = opts.url ?? (env.QGJOB_URL || DEFAULT_URL);
  const from = opts.url !== undefined ? "--url" : env.QGJOB_URL ? "QGJOB_URL" : "--url";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`${from}: expected a URL such as ${DEFAULT_URL}, got '${raw}'`, EXIT.usage);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`${from}: expected an http:// or https:// URL, got '${raw}'`, EXIT.usage);
  }
  // The API's root is part of every route: a URL copied with it would double it.
  return raw.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
}

export function resolveToken(
  opts: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const token = opts.token ?? env.QGJOB_TOKEN;
  return token ? token.trim() : undefined;
}

/**
 * A client for one command. Retries are short (2, from 250 ms) so an unreachable server fails
 * the command within a second or two instead of the client's default half a minute.
 */
export function connect(opts: ConnectionOptions, env: NodeJS.ProcessEnv = process.env) {
  return new QgjobClient({
    baseUrl: resolveUrl(opts, env),
    token: resolveToken(opts, env),
    retries: 2,
    backoffMs: 250,
    timeoutMs: 15_000,
    userAgent: `qgjob-cli/${VERSION}`,
  });
}

type Target = { kind: "run"; id: string } | { kind: "job"; id: string };

/** What an id's prefix says it is: run ids start `run_`, job ids `job_`. */
function kindOf(id: string): Target["kind"] | null {
  return id.startsWith("run_") ? "run" : id.startsWith("job_") ? "job" : null;
}

/**
 * The run or job a command is about: a positional id (told apart by its prefix), `--run-id` or
 * `--job-id`, exactly one, checked here so that a typo or a run id given as a job id is a clear
 * usage error instead of the server's bare 404.
 */
export function pickTarget(
  opts: { runId?: string; jobId?: string },
  positional?: string,
  only?: Target["kind"],
): Target {
  const given = [opts.runId, opts.jobId, positional].filter((v) => v !== undefined);
  const usage = only ? `give a ${only} id (${only}_…)` : "give a run or job id (run_… or job_…)";
  if (given.length === 0) throw new CliError(usage, EXIT.usage);
  if (opts.runId !== undefined && opts.jobId !== undefined) {
    throw new CliError("give --run-id or --job-id, not both", EXIT.usage);
  }
  if (given.length > 1) throw new CliError(`${usage} once, as an argument or a flag`, EXIT.usage);
  const id = given[0]!.trim();
  const flag = opts.runId !== undefined ? "--run-id" : opts.jobId !== undefined ? "--job-id" : "";
  const said: Target["kind"] | null =
    opts.runId !== undefined ? "run" : opts.jobId !== undefined ? "job" : null;
  const kind = kindOf(id);
  const name = flag ? `${flag}: ` : "";
  if (!ResourceId.safeParse(id).success || kind === null) {
    const want = said ?? only;
    const example = want ? `a ${want} id such as ${want}_01JD…` : "a run_… or job_… id";
    throw new CliError(`${name}expected ${example}, got '${id}'`, EXIT.usage);
  }
  if ((said && said !== kind) || (only && only !== kind)) {
    const hint = only ? "" : flag ? ` (give it as --${kind}-id, or just the id)` : "";
    throw new CliError(
      `${name}'${id}' is a ${kind} id, not a ${said ?? only} id${hint}`,
      EXIT.usage,
    );
  }
  return { kind, id };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * An ApiError as one line and an exit code: the server or the network failing is 3, the server
 * refusing the request (4xx: bad input, unknown id, bad token) is 2.
 */
export function describeApiError(err: ApiError): CliError {
  const where = originOf(err.url);
  const detail = err.detail;
  switch (err.kind) {
    case "network":
      return new CliError(
        `cannot reach the server at ${where}${err.reason ? ` (${err.reason})` : ""}`,
        EXIT.server,
      );
    case "timeout":
      return new CliError(`the server at ${where} did not answer (${detail})`, EXIT.server);
    case "invalid_response":
      return new CliError(
        `unexpected answer from ${err.method} ${err.url} (${err.status}): ${detail}`,
        EXIT.server,
      );
    case "http": {
      const status = err.status ?? 0;
      // A 429 the client's retries could not wait out is the server being busy, not a mistake.
      if (status >= 400 && status < 500 && status !== 429) {
        const hint = status === 401 ? " (set --token or QGJOB_TOKEN)" : "";
        return new CliError(`${detail} [${status} ${err.code}]${hint}`, EXIT.usage);
      }
      return new CliError(
        `server error from ${err.method} ${err.url}: ${status} ${err.code}: ${detail}`,
        EXIT.server,
      );
    }
  }
  return new CliError(detail, EXIT.server);
}
