import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./app/store/sqlite/schema.ts",
  out: "./app/store/sqlite/migrations",
});
