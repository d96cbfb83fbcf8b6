import { Command, Option } from "commander";
import { z } from "zod";
import { OrgId, Scope } from "../../api/schemas.js";
import { loadConfig } from "../../app/config.js";
import { CliError, EXIT } from "../exit-codes.js";

const Scopes = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(Scope).min(1));

export function tokenCommand(): Command {
  const token = new Command("token").description("Manage API tokens.");
  token
    .command("create")
    .description(
      "Create an API token in the database (DATABASE_URL, or the SQLite file) and print it once.",
    )
    .addOption(new Option("--org <id>", "the org the token acts for").conflicts("fleet"))
    .option("--fleet", "a token for every org (shared agents, operators)")
    .requiredOption("--scope <list>", "comma-separated: submit, read, agent, admin")
    .option("--name <name>", "a label to recognise the token by", "cli")
    .option("--db <path>", "SQLite database file (QGJOB_DB, default ./data/qgjob.db)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qgjob token create --org qualgent --scope submit,read\n  qgjob token create --fleet --scope agent --name device-lab",
    )
    .action(
      async (opts: {
        org?: string;
        fleet?: boolean;
        scope: string;
        name: string;
        db?: string;
        json?: boolean;
      }) => {
        if (!opts.org && !opts.fleet) throw new CliError("give --org <id> or --fleet", EXIT.usage);
        const org = opts.org === undefined ? null : OrgId.safeParse(opts.org);
        if (org && !org.success)
          throw new CliError(`--org: ${org.error.issues[0]?.message}`, EXIT.usage);
        const scopes = Scopes.safeParse(opts.scope);
        if (!scopes.success) {
          throw new CliError(
            `--scope: expected a list of submit, read, agent, admin; got '${opts.scope}'`,
            EXIT.usage,
          );
        }
        // Only the database setting matters here; a server-only setting must not get in the way.
        const config = loadConfig(
          { db: opts.db },
          { QGJOB_DB: process.env.QGJOB_DB, DATABASE_URL: process.env.DATABASE_URL },
        );
        // Loaded on demand: client commands must not pull in the server and a database driver.
        const { openStore } = await import("../../app/store/open.js");
        const { issueToken } = await import("../../app/tokens.js");
        const store = await openStore(config);
        try {
          const { token, record } = await issueToken(
            store,
            { orgId: org ? org.data : null, scopes: scopes.data, name: opts.name },
            Date.now(),
          );
          if (opts.json) {
            process.stdout.write(
              JSON.stringify({
                token,
                id: record.id,
                org_id: record.orgId,
                scopes: record.scopes,
              }) + "\n",
            );
          } else {
            process.stdout.write(`${token}\n`);
            process.stderr.write(
              `token ${record.id} for ${record.orgId ?? "every org"} (${record.scopes.join(",")}): shown once, store it now\n`,
            );
          }
        } finally {
          await store.close();
        }
      },
    );
  return token;
}
