/**
 * Prepared statements on real Postgres (app/store/postgres/prepared.ts): a statement sent often
 * is parsed once per connection, a connection keeps a bounded number of them, and
 * QGJOB_PG_PREPARE=false turns them off.
 */
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { openPool } from "../../app/store/postgres/database.js";
import type { PgExec } from "../../app/store/postgres/context.js";
import { createTestSchema, enginesUnderTest } from "./engines.js";

type Pool = ReturnType<typeof openPool>["pool"];

const preparedCount = async (db: PgExec) =>
  Number(
    (
      (await db.execute(
        sql.raw("select count(*)::int as n from pg_prepared_statements where name like 'qgjob_%'"),
      )) as unknown as { rows: { n: number }[] }
    ).rows[0]!.n,
  );

if ((await enginesUnderTest()).some((e) => e.name === "postgres")) {
  describe("prepared statements: postgres", () => {
    const opened: { pool: Pool; drop: () => Promise<void> }[] = [];
    afterEach(async () => {
      for (const o of opened.splice(0)) {
        await o.pool.end();
        await o.drop();
      }
    });

    /** A pool of one connection, so every statement shares one session. */
    async function onePool(prepare?: boolean) {
      const schema = await createTestSchema();
      const { pool, db } = openPool({
        url: schema.url,
        poolMax: 1,
        statementTimeoutMs: 10_000,
        ...(prepare === undefined ? {} : { prepare }),
      });
      opened.push({ pool, drop: schema.drop });
      return db;
    }

    it("prepares a statement sent several times, and answers it the same", async () => {
      const db = await onePool();
      const answers = [];
      for (let i = 0; i < 5; i++) {
        const { rows } = (await db.execute(sql`select ${i}::int + 1 as n`)) as unknown as {
          rows: { n: number }[];
        };
        answers.push(rows[0]!.n);
      }
      expect(answers).toEqual([1, 2, 3, 4, 5]);
      expect(await preparedCount(db)).toBe(1);
    });

    it("keeps at most 256 per connection, however many shapes it sees", async () => {
      const db = await onePool();
      for (let shape = 0; shape < 300; shape++) {
        for (let i = 0; i < 3; i++) {
          await db.execute(sql`select ${i}::int + ${sql.raw(String(shape))} as n`);
        }
      }
      expect(await preparedCount(db)).toBe(256);
    });

    it("prepares nothing with QGJOB_PG_PREPARE=false", async () => {
      const db = await onePool(false);
      for (let i = 0; i < 5; i++) await db.execute(sql`select ${i}::int as n`);
      expect(await preparedCount(db)).toBe(0);
    });
  });
}
