/** The `--test` arguments of `qgjob submit` (api/test-paths.ts), a bad one a usage error. */
import * as paths from "../api/test-paths.js";
import { CliError, EXIT } from "./exit-codes.js";

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asUsageError(err);
  }
}

function asUsageError(err: unknown): unknown {
  if (!(err instanceof paths.TestPathError)) return err;
  const flag = err.arg === null ? "--test:" : `--test ${err.arg}:`;
  return new CliError(`${flag} ${err.reason}`, EXIT.usage);
}

export const isGlob = paths.isGlob;

export const normalizeTestPath = (arg: string, cwd: string) =>
  usage(() => paths.normalizeTestPath(arg, cwd));

export const expandTests = (args: readonly string[], cwd: string) =>
  paths.expandTests(args, cwd).catch((err: unknown) => Promise.reject(asUsageError(err)));
