import { describe, expect, it } from "vitest";
import { INPUT_DEFAULTS, INPUT_NAMES, readInputs, type InputName } from "./inputs.js";
import { readActionYml } from "./testing.js";

const BASE: Partial<Record<InputName, string>> = {
  "server-url": "https://qgjob.example.com/",
  "api-token": "qgj_secret",
  "org-id": "acme",
  tests: "tests/a.spec.ts\n\n# a comment\n  tests/*.spec.ts  \n",
};

function read(over: Partial<Record<InputName, string>> = {}, env: NodeJS.ProcessEnv = {}) {
  const values = { ...BASE, ...over };
  const masked: string[] = [];
  const inputs = readInputs(
    (name) => values[name] ?? "",
    { GITHUB_SHA: "abc123", ...env },
    (s) => masked.push(s),
  );
  return { inputs, masked };
}

function problem(over: Partial<Record<InputName, string>>, env: NodeJS.ProcessEnv = {}): string {
  try {
    read(over, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("no error");
}

describe("inputs", () => {
  it("action.yml declares exactly these inputs, with the same defaults", () => {
    const yml = readActionYml();
    expect(Object.keys(yml.inputs)).toEqual([...INPUT_NAMES]);
    for (const [name, value] of Object.entries(INPUT_DEFAULTS)) {
      expect(yml.inputs[name]?.default, name).toBe(value);
    }
    expect(yml.inputs["app-version-id"]?.default).toBe("${{ github.sha }}");
    // org-id and tests are required unless run-id is given: readInputs checks them.
    const required = Object.entries(yml.inputs).filter(([, i]) => i.required);
    expect(required.map(([n]) => n)).toEqual(["server-url", "api-token"]);
  });

  it("reads, trims and defaults; the token is masked", () => {
    const { inputs, masked } = read();
    expect(masked).toEqual(["qgj_secret"]);
    expect(inputs).toEqual({
      serverUrl: "https://qgjob.example.com",
      token: "qgj_secret",
      orgId: "acme",
      appVersionId: "abc123",
      tests: ["tests/a.spec.ts", "tests/*.spec.ts"],
      workingDirectory: ".",
      target: "emulator",
      device: undefined,
      priority: 5,
      retries: 0,
      maxAttempts: undefined,
      testTimeoutS: undefined,
      tags: [],
      runId: undefined,
      wait: true,
      timeoutMinutes: 60,
      failOnFlaky: false,
      junitPath: "qgjob-junit.xml",
      junitAttachments: false,
      appBuild: undefined,
      bundle: true,
      cancelInProgress: false,
    });
  });

  it("takes every option", () => {
    const { inputs } = read({
      "app-version-id": "build-42",
      target: "browserstack",
      device: "Google Pixel 8",
      priority: "9",
      retries: "2",
      wait: "False",
      "timeout-minutes": "2.5",
      "fail-on-flaky": "TRUE",
      "working-directory": "examples/demo",
      "junit-path": "reports/junit.xml",
      "junit-attachments": "true",
      "max-attempts": "1",
      "test-timeout": "1h30m",
      tags: "@smoke, @login\n@fast",
      "app-build": " build/app-debug.apk ",
      bundle: "false",
      "cancel-in-progress": "true",
    });
    expect(inputs).toMatchObject({
      cancelInProgress: true,
      appBuild: "build/app-debug.apk",
      bundle: false,
      maxAttempts: 1,
      testTimeoutS: 5400,
      tags: ["@smoke", "@login", "@fast"],
      appVersionId: "build-42",
      target: "browserstack",
      device: "Google Pixel 8",
      priority: 9,
      retries: 2,
      wait: false,
      timeoutMinutes: 2.5,
      failOnFlaky: true,
      workingDirectory: "examples/demo",
      junitPath: "reports/junit.xml",
      junitAttachments: true,
    });
  });

  it("names every missing input in one line, with a hint", () => {
    const message = problem({ "server-url": "", "api-token": "", "org-id": " ", tests: "\n# x\n" });
    expect(message).not.toContain("\n");
    expect(message).toMatch(
      /^missing required inputs: server-url \(.*QGJOB_URL.*\), api-token \(.*QGJOB_TOKEN.*\), org-id \(.*\), tests \(.*\)$/,
    );
  });

  it("says which value is wrong and why", () => {
    expect(problem({ "server-url": "qgjob.example.com" })).toBe(
      "server-url: not a URL (expected e.g. https://qgjob.example.com)",
    );
    expect(problem({ "server-url": "ftp://x" })).toMatch(
      /server-url: expected an http or https URL/,
    );
    expect(problem({ "org-id": "a b" })).toMatch(/^org-id: 'a b' is not valid/);
    expect(problem({ target: "iphone" })).toBe(
      "target: expected one of emulator, device, browserstack, got 'iphone'",
    );
    expect(problem({ priority: "11" })).toBe(
      "priority: expected a whole number from 0 to 10, got '11'",
    );
    expect(problem({ retries: "1.5" })).toMatch(/^retries: expected a whole number from 0 to 5/);
    expect(problem({ wait: "yes" })).toBe("wait: expected true or false, got 'yes'");
    expect(problem({ bundle: "no" })).toBe("bundle: expected true or false, got 'no'");
    expect(problem({ "timeout-minutes": "0" })).toMatch(/^timeout-minutes: expected a number/);
    expect(problem({ "timeout-minutes": "1h" })).toMatch(/got '1h'$/);
    expect(problem({ "max-attempts": "0" })).toBe(
      "max-attempts: expected a whole number from 1 to 10, got '0'",
    );
    expect(problem({ "test-timeout": "7h" })).toBe(
      "test-timeout: expected a duration such as 15m, 90s or 1h30m (at most 6h), got '7h'",
    );
    expect(problem({ tags: "@ok, bad tag!" })).toMatch(/^tags: 'tag!' is not valid/);
    // Several problems: one line, separated.
    expect(problem({ priority: "x", wait: "y" })).toMatch(/^priority: .*; wait: .*$/);
  });

  it("falls back to GITHUB_SHA for app-version-id, and says so when there is none", () => {
    expect(read({}, { GITHUB_SHA: "deadbeef" }).inputs.appVersionId).toBe("deadbeef");
    expect(problem({}, { GITHUB_SHA: "" })).toBe(
      "app-version-id: empty, and GITHUB_SHA is not set",
    );
  });

  it("refuses credentials in server-url without printing them, and masks them", () => {
    const over = { "server-url": "https://ci:hunter%232@qgjob.example.com" };
    expect(problem(over)).toBe(
      "server-url: contains credentials (user:password@); remove them and pass the token as api-token (the URL is not printed)",
    );
    const masked: string[] = [];
    expect(() =>
      readInputs(
        (n) => ({ ...BASE, ...over })[n] ?? "",
        { GITHUB_SHA: "a" },
        (s) => masked.push(s),
      ),
    ).toThrow();
    expect(masked).toEqual(["qgj_secret", "ci", "hunter#2"]);
    expect(problem({ "server-url": "https://user:pw@" })).toBe(
      "server-url: not a URL (expected e.g. https://qgjob.example.com)",
    );
  });

  it("run-id: waits for an earlier run; tests and org-id are not needed, and not both", () => {
    const { inputs } = read({ "run-id": "run_01JD8ZK3V4QH6T2X0M", tests: "", "org-id": "" });
    expect(inputs).toMatchObject({ runId: "run_01JD8ZK3V4QH6T2X0M", tests: [], wait: true });
    expect(problem({ "run-id": "run_01JD8ZK3V4QH6T2X0M" })).toBe(
      "run-id and tests: give one (tests submits a new run, run-id waits for one)",
    );
    expect(problem({ "run-id": "run_01JD8ZK3V4QH6T2X0M", tests: "", wait: "false" })).toBe(
      "run-id is for waiting: drop wait: false",
    );
    expect(problem({ "run-id": "42", tests: "" })).toMatch(/^run-id: '42' is not valid/);
    expect(problem({ "run-id": "run_01JD8ZK3V4QH6T2X0M", tests: "", "app-build": "a.apk" })).toBe(
      "run-id and app-build: the build goes with the step that submits the run",
    );
    expect(problem({ tests: "" })).toMatch(/^missing required input: tests \(.*run-id/);
  });

  it("never puts the token in a message", () => {
    const message = problem({ "api-token": "qgj_topsecret", "org-id": "", priority: "x" });
    expect(message).not.toContain("topsecret");
  });
});
