import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// Every variable of the schema is documented where operators look: .env.example and the README's table.
const schemaSource = readFileSync("server/env.ts", "utf8");
const variables = [...schemaSource.matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);

describe("configuration is documented", () => {
  it("finds the schema's variables", () => {
    expect(variables).toContain("APP_URL");
    expect(variables.length).toBeGreaterThan(30);
  });

  it.each(variables)("%s is in .env.example and README.md", (name) => {
    expect(readFileSync(".env.example", "utf8")).toMatch(new RegExp(`^#? ?${name}=`, "m"));
    expect(readFileSync("README.md", "utf8")).toContain(name.replace(/_PER_CLIENT$/, "_PER_IP"));
  });
});
