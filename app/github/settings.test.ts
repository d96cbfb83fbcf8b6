import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { githubSettings, normalizePrivateKey } from "./settings.js";

const PEM = generateKeyPairSync("rsa", {
  modulusLength: 1024,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;

describe("githubSettings", () => {
  it("is off, naming what is missing, until the id, a key and the secret are all set", () => {
    expect(githubSettings(loadConfig({}, { APP_ID: "12" }))).toEqual({
      settings: null,
      missing: ["PRIVATE_KEY or PRIVATE_KEY_PATH", "WEBHOOK_SECRET"],
    });
  });

  it("points at GitHub Enterprise's API root with GHE_HOST", () => {
    const env = {
      APP_ID: "12",
      PRIVATE_KEY: PEM,
      WEBHOOK_SECRET: "s",
      GHE_HOST: "ghe.corp.example",
    };
    expect(githubSettings(loadConfig({}, env)).settings).toMatchObject({
      appId: "12",
      baseUrl: "https://ghe.corp.example/api/v3",
      updateIntervalMs: 5000,
    });
  });

  it("takes GitHub's API root from GITHUB_API_URL: https, or http on loopback only", () => {
    const env = {
      APP_ID: "12",
      PRIVATE_KEY: PEM,
      WEBHOOK_SECRET: "s",
      GHE_HOST: "ghe.corp.example",
    };
    const at = (url: string) =>
      githubSettings(loadConfig({}, { ...env, GITHUB_API_URL: url })).settings;
    expect(at("http://127.0.0.1:8123/")?.baseUrl).toBe("http://127.0.0.1:8123");
    expect(at("https://proxy.corp.example/github")?.baseUrl).toBe(
      "https://proxy.corp.example/github",
    );
    expect(() => at("http://proxy.corp.example")).toThrow(/loopback/);
  });

  it("accepts a key with \\n escapes or base64-encoded", () => {
    expect(normalizePrivateKey(PEM.replace(/\n/g, "\\n"))).toBe(PEM);
    expect(normalizePrivateKey(Buffer.from(PEM).toString("base64"))).toBe(PEM);
    expect(() => normalizePrivateKey("not a key")).toThrow(/not a PEM private key/);
  });
});
