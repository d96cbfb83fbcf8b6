import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./app/store/postgres/schema.ts",
  out: "./app/store/postgres/migrations",
});
