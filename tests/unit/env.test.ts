import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "../../server/env.ts";

function problems(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration (server/env.ts)", () => {
  it("has safe defaults for local use", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.APP_URL).toBe("http://localhost:3000");
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.devLoginEnabled).toBe(true);
    expect(env.ADMIN_EMAILS).toEqual([]);
    expect(env.ACCESS_TOKEN_TTL_SECONDS).toBe(3600);
    expect(env.REFRESH_TOKEN_TTL_SECONDS).toBe(30 * 24 * 3600);
  });

  it("derives APP_URL from PORT and strips a trailing slash", () => {
    expect(parseEnv({ PORT: "4000" }).APP_URL).toBe("http://localhost:4000");
    expect(parseEnv({ APP_URL: "https://auth.example.com/" }).APP_URL).toBe("https://auth.example.com");
  });

  it("treats empty strings as unset", () => {
    const env = parseEnv({ PORT: "", DATABASE_URL: "  ", AUTH_SECRET: "" });
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it("names every bad variable in one message", () => {
    const found = problems({ PORT: "eighty", APP_URL: "ftp://x", LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" });
    expect(found).toHaveLength(4);
    expect(found.join("\n")).toMatch(/PORT: must be a number/);
    expect(found.join("\n")).toMatch(/APP_URL: must be an http\(s\) URL/);
    expect(found.join("\n")).toMatch(/LOG_LEVEL: must be one of/);
    expect(found.join("\n")).toMatch(/DATABASE_URL: must be a postgresql:\/\/ URL/);
  });

  it("accepts ALLOWED_ORIGINS as origins or *, and names a URL with a path or a bare host as bad", () => {
    expect(parseEnv({ ALLOWED_ORIGINS: "https://a.example, http://localhost:6274" }).ALLOWED_ORIGINS).toEqual([
      "https://a.example",
      "http://localhost:6274",
    ]);
    expect(parseEnv({ ALLOWED_ORIGINS: "*" }).ALLOWED_ORIGINS).toEqual(["*"]);
    for (const bad of ["https://a.example/", "a.example", "https://a.example/app"]) {
      expect(problems({ ALLOWED_ORIGINS: bad }), bad).toEqual([expect.stringMatching(/^ALLOWED_ORIGINS: must be a comma-separated list of origins/)]);
    }
  });

  it("refuses production without AUTH_SECRET, or with a short one", () => {
    expect(problems({ NODE_ENV: "production" })).toEqual([expect.stringMatching(/^AUTH_SECRET: is required when NODE_ENV=production/)]);
    expect(problems({ NODE_ENV: "production", AUTH_SECRET: "short" })).toEqual([
      "AUTH_SECRET: must be at least 32 characters",
    ]);
  });

  it("accepts NEXTAUTH_URL as the original's name for APP_URL; APP_URL wins; a bad one is named as such", () => {
    expect(parseEnv({ NEXTAUTH_URL: "https://auth.example.com/" }).APP_URL).toBe("https://auth.example.com");
    expect(parseEnv({ NEXTAUTH_URL: "https://old.example.com", APP_URL: "https://new.example.com" }).APP_URL).toBe("https://new.example.com");
    expect(problems({ NEXTAUTH_URL: "ftp://x" })).toEqual([expect.stringMatching(/^APP_URL \(from NEXTAUTH_URL\): must be an http\(s\) URL/)]);
  });

  it("accepts SESSION_SECRET as the original's name for AUTH_SECRET", () => {
    const secret = "s".repeat(40);
    expect(parseEnv({ NODE_ENV: "production", SESSION_SECRET: secret }).AUTH_SECRET).toBe(secret);
    expect(problems({ NODE_ENV: "production", SESSION_SECRET: "short" })).toEqual([
      "AUTH_SECRET (from SESSION_SECRET): must be at least 32 characters",
    ]);
  });

  it("enables the development sign-in only when asked, or outside production without Google", () => {
    expect(parseEnv({ GOOGLE_CLIENT_ID: "id", GOOGLE_CLIENT_SECRET: "secret" }).devLoginEnabled).toBe(false);
    expect(parseEnv({ NODE_ENV: "production", AUTH_SECRET: "x".repeat(32) }).devLoginEnabled).toBe(false);
    expect(parseEnv({ NODE_ENV: "production", AUTH_SECRET: "x".repeat(32), AUTH_DEV_LOGIN: "true" }).devLoginEnabled).toBe(true);
    expect(problems({ AUTH_DEV_LOGIN: "maybe" })).toEqual(["AUTH_DEV_LOGIN: must be true or false"]);
  });

  it("keeps the default development sign-in to loopback APP_URLs", () => {
    expect(parseEnv({ APP_URL: "http://127.0.0.1:4000" }).devLoginEnabled).toBe(true);
    expect(parseEnv({ APP_URL: "http://localhost:4000" }).devLoginEnabled).toBe(true);
    expect(parseEnv({ APP_URL: "http://[::1]:4000" }).devLoginEnabled).toBe(true);
    expect(parseEnv({ APP_URL: "https://auth.example.com" }).devLoginEnabled).toBe(false);
    expect(parseEnv({ APP_URL: "http://localhost.evil.com" }).devLoginEnabled).toBe(false);
    expect(parseEnv({ APP_URL: "https://auth.example.com", AUTH_DEV_LOGIN: "true" }).devLoginEnabled).toBe(true);
  });

  it("requires both Google credentials together", () => {
    expect(problems({ GOOGLE_CLIENT_ID: "id" })).toEqual(["GOOGLE_CLIENT_SECRET: must be set together with GOOGLE_CLIENT_ID"]);
  });

  it("normalises ADMIN_EMAILS to a lower-case list", () => {
    expect(parseEnv({ ADMIN_EMAILS: " Admin@Example.com, ops@example.com ," }).ADMIN_EMAILS).toEqual([
      "admin@example.com",
      "ops@example.com",
    ]);
  });
});
