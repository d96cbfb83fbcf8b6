import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, describeDatabase, loadConfig } from "../../app/config.js";
import { openStore } from "../../app/store/open.js";
import { tempDir } from "../harness.js";

const require = createRequire(import.meta.url);
const pgLoaded = () =>
  Object.keys(require.cache).some((path) => /[/\\]node_modules[/\\]pg[/\\]/.test(path));

describe("choosing the engine", () => {
  it("opens SQLite without loading the Postgres driver", async () => {
    const store = await openStore(loadConfig({ db: join(tempDir(), "q.db") }, {}));
    try {
      expect(store.engine).toBe("sqlite");
      expect(pgLoaded()).toBe(false);
    } finally {
      await store.close();
    }
  });

  it("takes DATABASE_URL for Postgres, and never logs its password", () => {
    const config = loadConfig({}, { DATABASE_URL: "postgres://qgjob:s3cret@db:5432/qgjob" });
    expect(config.databaseUrl).toBe("postgres://qgjob:s3cret@db:5432/qgjob");
    expect(describeDatabase(config)).toBe("postgres://qgjob:***@db:5432/qgjob");
    expect(() => loadConfig({}, { DATABASE_URL: "mysql://db/qgjob" })).toThrow(ConfigError);
    expect(() =>
      loadConfig({}, { DATABASE_URL: "postgres://db/q", QGJOB_PG_POOL_MAX: "0" }),
    ).toThrow(/QGJOB_PG_POOL_MAX/);
  });
});
