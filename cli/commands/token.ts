import { Command, Option } from "commander";
import { z } from "zod";
import { OrgId, Scope } from "../../api/schemas.js";
import { loadConfig } from "../../app/config.js";
import type { Store, TokenRecord } from "../../app/store/store.js";
import { CliError, EXIT } from "../exit-codes.js";
import { table } from "../output.js";

const Scopes = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(Scope).min(1));

const EXPIRY_UNIT_MS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--expires 90d` (also `12h`, `2w`; `never`) as an expiry time, or null for never. */
export function parseExpiry(text: string, now: number): number | null {
  if (text === "never") return null;
  const m = /^(\d+)([hdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) {
    throw new CliError(`--expires: expected e.g. 90d, 12h, 2w or never; got '${text}'`, EXIT.usage);
  }
  return now + Number(m[1]) * EXPIRY_UNIT_MS[m[2]!]!;
}

interface DbFlags {
  db?: string;
}

/** The token commands work on the database itself (DATABASE_URL or the SQLite file), like the
 * server; over HTTP the same is `GET/POST /api/v1/tokens` with an admin token. */
async function withStore<T>(flags: DbFlags, work: (store: Store) => Promise<T>): Promise<T> {
  // Only the database setting matters here; a server-only setting must not get in the way.
  const config = loadConfig(
    { db: flags.db },
    { QGJOB_DB: process.env.QGJOB_DB, DATABASE_URL: process.env.DATABASE_URL },
  );
  // Loaded on demand: client commands must not pull in the server and a database driver.
  const { openStore } = await import("../../app/store/open.js");
  const store = await openStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

const dbOption = () =>
  new Option("--db <path>", "SQLite database file (QGJOB_DB, default ./data/qgjob.db)");

const when = (ms: number | null) =>
  ms === null ? "-" : new Date(ms).toISOString().slice(0, 16).replace("T", " ");

function tokenState(t: TokenRecord, now: number) {
  if (t.revokedAt !== null) return "revoked";
  if (t.expiresAt !== null && t.expiresAt <= now) return "expired";
  return "active";
}

const tokenJson = (t: TokenRecord, now: number) => ({
  id: t.id,
  name: t.name,
  org_id: t.orgId,
  scopes: t.scopes,
  state: tokenState(t, now),
  created_at: new Date(t.createdAt).toISOString(),
  last_used_at: t.lastUsedAt === null ? null : new Date(t.lastUsedAt).toISOString(),
  expires_at: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
  revoked_at: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
});

/** `--org`, the spelling before every command said `--org-id`: still accepted, not shown. */
const orgAlias = () => new Option("--org <id>").hideHelp();

function createCommand(): Command {
  return new Command("create")
    .description(
      "Create an API token in the database (DATABASE_URL, or the SQLite file) and print it once.",
    )
    .addOption(new Option("--org-id <id>", "the org the token acts for").conflicts("fleet"))
    .addOption(orgAlias().conflicts("fleet"))
    .option("--fleet", "a token for every org (shared agents, operators)")
    .requiredOption("--scope <list>", "comma-separated: submit, read, agent, admin")
    .option("--name <name>", "a label to recognise the token by", "cli")
    .option("--expires <when>", "expire after e.g. 90d, 12h or 2w (default: never)", "never")
    .addOption(dbOption())
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qgjob token create --org-id qualgent --scope submit,read --expires 90d\n  qgjob token create --fleet --scope agent --name device-lab",
    )
    .action(createToken);
}

type CreateOptions = DbFlags & {
  orgId?: string;
  org?: string;
  fleet?: boolean;
  scope: string;
  name: string;
  expires: string;
  json?: boolean;
};

async function createToken(opts: CreateOptions) {
  const { orgId, scopes } = grantOf(opts);
  const now = Date.now();
  const expiresAt = parseExpiry(opts.expires, now);
  const { issueToken } = await import("../../app/tokens.js");
  const { token, record } = await withStore(opts, (store) =>
    issueToken(store, { orgId, scopes, name: opts.name, expiresAt }, now),
  );
  if (opts.json) {
    process.stdout.write(JSON.stringify({ token, ...tokenJson(record, now) }) + "\n");
  } else {
    process.stdout.write(`${token}\n`);
    const until = expiresAt === null ? "" : `, expires ${when(expiresAt)} UTC`;
    process.stderr.write(
      `token ${record.id} for ${record.orgId ?? "every org"} (${record.scopes.join(",")}${until}): shown once, store it now\n`,
    );
  }
}

/** Who the token acts for and what it may do, checked before the database is opened. */
function grantOf(opts: CreateOptions) {
  const orgId = opts.orgId ?? opts.org;
  if (!orgId && !opts.fleet) throw new CliError("give --org-id <id> or --fleet", EXIT.usage);
  const org = orgId === undefined ? null : OrgId.safeParse(orgId);
  if (org && !org.success)
    throw new CliError(`--org-id: ${org.error.issues[0]?.message}`, EXIT.usage);
  const scopes = Scopes.safeParse(opts.scope);
  if (!scopes.success) {
    throw new CliError(
      `--scope: expected a list of submit, read, agent, admin; got '${opts.scope}'`,
      EXIT.usage,
    );
  }
  return { orgId: org ? org.data : null, scopes: scopes.data };
}

function listCommand(): Command {
  return new Command("list")
    .description("List API tokens: id, name, org, scopes, use and expiry (never the secret).")
    .option("--org-id <id>", "only this org's tokens")
    .addOption(orgAlias())
    .addOption(dbOption())
    .option("--json", "print JSON")
    .action(async (opts: DbFlags & { orgId?: string; org?: string; json?: boolean }) => {
      const orgId = opts.orgId ?? opts.org;
      if (orgId !== undefined && !OrgId.safeParse(orgId).success) {
        throw new CliError(`--org-id: '${orgId}' is not an org id`, EXIT.usage);
      }
      const now = Date.now();
      const tokens = await withStore(opts, (store) => store.listTokens({ orgId: orgId ?? null }));
      if (opts.json) {
        process.stdout.write(JSON.stringify(tokens.map((t) => tokenJson(t, now))) + "\n");
        return;
      }
      process.stdout.write(
        table(
          ["ID", "NAME", "ORG", "SCOPES", "STATE", "CREATED", "LAST USED", "EXPIRES"],
          tokens.map((t) => [
            t.id,
            t.name,
            t.orgId ?? "(fleet)",
            t.scopes.join(","),
            tokenState(t, now),
            when(t.createdAt),
            when(t.lastUsedAt),
            t.expiresAt === null ? "never" : when(t.expiresAt),
          ]),
        ) + "\n",
      );
    });
}

function revokeCommand(): Command {
  return new Command("revoke")
    .description("Revoke an API token: refused from its next request on (long polls included).")
    .argument("<id>", "the token's id (tok_..., from qgjob token list)")
    .addOption(dbOption())
    .option("--json", "print JSON")
    .action(async (id: string, opts: DbFlags & { json?: boolean }) => {
      if (!/^tok_[0-9A-Za-z]{10,40}$/.test(id)) {
        throw new CliError(`'${id}' is not a token id (tok_...; see qgjob token list)`, EXIT.usage);
      }
      const now = Date.now();
      const record = await withStore(opts, (store) => store.revokeToken(id, { orgId: null }, now));
      if (!record) throw new CliError(`no token ${id}`, EXIT.usage);
      if (opts.json) process.stdout.write(JSON.stringify(tokenJson(record, now)) + "\n");
      else process.stderr.write(`token ${record.id} (${record.name}) revoked\n`);
    });
}

export function tokenCommand(): Command {
  return new Command("token")
    .description("Manage API tokens.")
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(revokeCommand());
}
