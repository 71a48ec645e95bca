// Prisma 6.19 CLI with the JS engine: generate and `migrate diff` run on the bundled WebAssembly schema engine,
// so nothing is downloaded (see docs/decisions/0002-prisma-offline.md).
import "dotenv/config";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

// The CLI reads the schema's `env("DATABASE_URL")` before anything else; generate and diff need no database, so a
// placeholder keeps them working when the variable is unset (the app itself may run on an embedded Postgres).
process.env.DATABASE_URL ||= "postgresql://postgres@127.0.0.1:5432/postgres";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  adapter: async () =>
    new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
