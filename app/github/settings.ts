/**
 * The GitHub App's settings from the server config. All three of the App id, a private key and
 * the webhook secret turn it on; without them the server runs API-only. The key is never logged.
 */
import { readFileSync } from "node:fs";
import { ConfigError, type Config } from "../config.js";

export interface GithubSettings {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  /**
   * The REST API root: GITHUB_API_URL, else `https://<GHE_HOST>/api/v3` for GitHub Enterprise,
   * else api.github.com.
   */
  baseUrl: string | undefined;
  publicUrl: string | null;
  updateIntervalMs: number;
  /** A GitHub request not answered in this time is abandoned (and tried again later). */
  requestTimeoutMs: number;
}

/** PEM as given, with `\n` escapes (one-line env values), or base64 of the PEM. */
export function normalizePrivateKey(raw: string): string {
  const text = raw.includes("\\n") ? raw.replaceAll("\\n", "\n") : raw;
  if (text.includes("-----BEGIN")) return text.trim() + "\n";
  const decoded = Buffer.from(text, "base64").toString("utf8");
  if (decoded.includes("-----BEGIN")) return decoded;
  throw new ConfigError("PRIVATE_KEY: not a PEM private key (nor base64 of one)");
}

export function githubSettings(
  config: Config,
): { settings: GithubSettings; missing: [] } | { settings: null; missing: string[] } {
  const missing = [
    config.githubAppId ? null : "APP_ID",
    config.githubPrivateKey || config.githubPrivateKeyPath
      ? null
      : "PRIVATE_KEY or PRIVATE_KEY_PATH",
    config.githubWebhookSecret ? null : "WEBHOOK_SECRET",
  ].filter((m) => m !== null);
  if (missing.length > 0) return { settings: null, missing };
  let raw = config.githubPrivateKey;
  if (!raw) {
    try {
      raw = readFileSync(config.githubPrivateKeyPath!, "utf8");
    } catch (err) {
      throw new ConfigError(
        `PRIVATE_KEY_PATH: cannot read ${config.githubPrivateKeyPath}: ${(err as Error).message}`,
      );
    }
  }
  return {
    missing: [],
    settings: {
      appId: config.githubAppId!,
      privateKey: normalizePrivateKey(raw),
      webhookSecret: config.githubWebhookSecret!,
      baseUrl:
        config.githubApiUrl?.replace(/\/+$/, "") ??
        (config.gheHost ? `https://${config.gheHost}/api/v3` : undefined),
      publicUrl: config.publicUrl ?? null,
      updateIntervalMs: config.githubUpdateIntervalS * 1000,
      requestTimeoutMs: config.githubRequestTimeoutS * 1000,
    },
  };
}
