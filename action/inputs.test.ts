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
    const required = Object.entries(yml.inputs).filter(([, i]) => i.required);
    expect(required.map(([n]) => n)).toEqual(["server-url", "api-token", "org-id", "tests"]);
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
      wait: true,
      timeoutMinutes: 60,
      failOnFlaky: false,
      junitPath: "qgjob-junit.xml",
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
    });
    expect(inputs).toMatchObject({
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
    expect(problem({ "server-url": "qgjob.example.com" })).toMatch(/^server-url: .* is not a URL/);
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
    expect(problem({ "timeout-minutes": "0" })).toMatch(/^timeout-minutes: expected a number/);
    expect(problem({ "timeout-minutes": "1h" })).toMatch(/got '1h'$/);
    // Several problems: one line, separated.
    expect(problem({ priority: "x", wait: "y" })).toMatch(/^priority: .*; wait: .*$/);
  });

  it("falls back to GITHUB_SHA for app-version-id, and says so when there is none", () => {
    expect(read({}, { GITHUB_SHA: "deadbeef" }).inputs.appVersionId).toBe("deadbeef");
    expect(problem({}, { GITHUB_SHA: "" })).toBe(
      "app-version-id: empty, and GITHUB_SHA is not set",
    );
  });

  it("never puts the token in a message", () => {
    const message = problem({ "api-token": "qgj_topsecret", "org-id": "", priority: "x" });
    expect(message).not.toContain("topsecret");
  });
});
