import { Command } from "commander";
import { loadConfig } from "../../app/config.js";

export function serverCommand(): Command {
  return new Command("server")
    .description(
      "Run the qgjob server (REST API, scheduler, reaper) on an embedded SQLite database, or on Postgres when DATABASE_URL is set.",
    )
    .option("--host <address>", "address to listen on (QGJOB_HOST, default 127.0.0.1)")
    .option("--port <port>", "port to listen on (QGJOB_PORT, default 8000)")
    .option("--db <path>", "SQLite database file (QGJOB_DB, default ./data/qgjob.db)")
    .addHelpText(
      "after",
      "\nExamples:\n  qgjob server\n  qgjob server --port 9000 --db /var/lib/qgjob/qgjob.db\n  QGJOB_HOST=0.0.0.0 qgjob server   # needs an API token first (qgjob token create)",
    )
    .action(async (opts: { host?: string; port?: string; db?: string }) => {
      const config = loadConfig(opts);
      // Loaded on demand: client commands must not pull in the server and better-sqlite3.
      const { startServer } = await import("../../app/server.js");
      const server = await startServer(config);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGTERM", stop);
          process.off("SIGINT", stop);
          server.close().then(resolve, resolve);
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
    });
}
