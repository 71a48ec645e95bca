/**
 * Configuration: one zod schema, parsed once at boot (epic-stack `env.server.ts`, T3 `createEnv`).
 *
 * Empty strings count as unset. A bad value stops the process with one message naming every bad variable and why;
 * unsafe production settings are refused. Every variable is documented in `.env.example`.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { isLoopbackHostname } from "./loopback.ts";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { error: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const positiveInt = z.coerce.number({ error: "must be a number" }).int("must be a whole number").positive("must be > 0");
const nonNegativeInt = z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(0, "must be >= 0");

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), "must be an http(s) URL");

const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

function isCidrOrIp(value: string): boolean {
  return value.includes("/") ? ipaddr.isValidCIDR(value) : ipaddr.isValid(value);
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number({ error: "must be a number" }).int().min(0).max(65535, "must be a port (0-65535)").default(3000),
    HOST: z.string().default("0.0.0.0"),
    APP_URL: httpUrl.optional(),
    DATABASE_URL: z
      .string()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), "must be a postgresql:// URL")
      .optional(),
    DATA_DIR: z.string().default(".data"),
    AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    GOOGLE_CLIENT_ID: z.string().optional(),
    GOOGLE_CLIENT_SECRET: z.string().optional(),
    /** Where Google's OpenID configuration lives; tests point it at a local fake issuer. */
    GOOGLE_ISSUER: httpUrl.default("https://accounts.google.com"),
    ADMIN_EMAILS: list.default([]).transform((emails) => emails.map((e) => e.toLowerCase())),
    AUTH_DEV_LOGIN: bool.optional(),
    SESSION_MAX_AGE_DAYS: positiveInt.default(30),
    REDIS_URL: z
      .string()
      .refine((v) => /^rediss?:\/\//.test(v), "must be a redis:// URL")
      .optional(),
    LOG_LEVEL: z.enum(logLevels, { error: `must be one of ${logLevels.join(", ")}` }).optional(),

    // OAuth authorization server
    ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(3600),
    REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(30 * 24 * 3600),
    AUTHORIZATION_CODE_TTL_SECONDS: positiveInt.max(600, "must be at most 600 (RFC 6749 §4.1.2)").default(60),
    REFRESH_TOKEN_REUSE_GRACE_SECONDS: nonNegativeInt.max(300, "must be at most 300").default(0),
    /** Dynamically registered clients that never obtained a token are deleted after this many hours. */
    UNUSED_CLIENT_RETENTION_HOURS: positiveInt.default(24 * 7),
    /**
     * Where DPoP proofs must carry a server nonce (RFC 9449 §8-9): `token` (the token endpoint), `all` (the MCP
     * endpoints too) or `off`.
     */
    DPOP_NONCE: z.enum(["token", "all", "off"], { error: "must be token, all or off" }).default("token"),

    // Edge protections
    /**
     * Browser Origins allowed on /.well-known, /api/oauth and /mcp; `*` allows any. Unset: any on /.well-known and
     * /api/oauth, and on /mcp only APP_URL's origin and loopback origins (MCP transports §Security Warning).
     */
    ALLOWED_ORIGINS: list
      .refine((entries) => entries.every(isOriginOrStar), "must be a comma-separated list of origins (https://app.example) or *")
      .optional(),
    TRUSTED_IP_RANGES: list
      .default([])
      .refine((ranges) => ranges.every(isCidrOrIp), "must be a comma-separated list of CIDRs or IP addresses"),
    TRUST_PROXY: bool.default(false),
    /** Open connections one address (IPv6: one /64) may hold at once; 0 = no limit. Not applied with TRUST_PROXY. */
    MAX_CONNECTIONS_PER_IP: nonNegativeInt.default(100),
    /** A request's headers must arrive within this many seconds of its first byte (slowloris). */
    HTTP_HEADERS_TIMEOUT_SECONDS: positiveInt.default(20),
    /** A whole request, headers and body, must arrive within this many seconds (slow bodies); 408 after. */
    HTTP_REQUEST_TIMEOUT_SECONDS: positiveInt.default(30),
    /** Prefix of every Redis key and channel (several deployments may share one Redis). */
    REDIS_KEY_PREFIX: z.string().default("mcp-oauth:"),
    RATE_LIMIT_ENABLED: bool.default(true),
    /** Rate-limit window; the limits below count requests per window (0 = no limit). */
    RATE_LIMIT_WINDOW_SECONDS: positiveInt.default(60),
    RATE_LIMIT_REGISTER_PER_IP: nonNegativeInt.default(20),
    RATE_LIMIT_AUTHORIZE_PER_IP: nonNegativeInt.default(60),
    RATE_LIMIT_AUTHORIZE_PER_CLIENT: nonNegativeInt.default(300),
    RATE_LIMIT_TOKEN_PER_IP: nonNegativeInt.default(60),
    RATE_LIMIT_TOKEN_PER_CLIENT: nonNegativeInt.default(600),
    RATE_LIMIT_MCP_PER_IP: nonNegativeInt.default(600),
    /** Per client and user: one client application acting for one person. */
    RATE_LIMIT_MCP_PER_CLIENT: nonNegativeInt.default(600),

    // MCP resource server
    /** How long a verified access token is trusted without a database lookup (0 = always look up). */
    MCP_TOKEN_CACHE_SECONDS: nonNegativeInt.max(300, "must be at most 300").default(30),
    /** true: Streamable HTTP hands out Mcp-Session-Id sessions (shared through Redis when set); false: stateless. */
    MCP_SESSIONS: bool.default(false),
    /** An MCP session unused for this long is forgotten. */
    MCP_SESSION_IDLE_SECONDS: positiveInt.default(3600),
    /** true: the MCP endpoints accept only DPoP-bound tokens (RFC 9449 §7; `dpop_bound_access_tokens_required`). */
    MCP_DPOP_REQUIRED: bool.default(false),

    // Observability
    METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
    ANALYTICS_ENABLED: bool.default(true),
    /** Raw analytics rows (one per request, per security event) are kept this many days (whole daily partitions). */
    ANALYTICS_RAW_RETENTION_DAYS: positiveInt.optional(),
    /** The earlier name of ANALYTICS_RAW_RETENTION_DAYS, still read when the new one is unset. */
    ANALYTICS_RETENTION_DAYS: positiveInt.optional(),
    /** Analytics rollups (what every dashboard reads) are kept this many days. */
    ANALYTICS_ROLLUP_RETENTION_DAYS: positiveInt.default(400),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
    OTEL_SERVICE_NAME: z.string().default("mcp-oauth-server"),
  })
  .superRefine(
    (env, ctx) => {
      if (env.NODE_ENV === "production" && !env.AUTH_SECRET) {
        ctx.addIssue({
          code: "custom",
          path: ["AUTH_SECRET"],
          message: "is required when NODE_ENV=production (at least 32 characters; e.g. `openssl rand -hex 32`)",
        });
      }
      if (env.HTTP_HEADERS_TIMEOUT_SECONDS > env.HTTP_REQUEST_TIMEOUT_SECONDS) {
        ctx.addIssue({
          code: "custom",
          path: ["HTTP_HEADERS_TIMEOUT_SECONDS"],
          message: "must not be longer than HTTP_REQUEST_TIMEOUT_SECONDS (the request includes its headers)",
        });
      }
      if (Boolean(env.GOOGLE_CLIENT_ID) !== Boolean(env.GOOGLE_CLIENT_SECRET)) {
        ctx.addIssue({
          code: "custom",
          path: [env.GOOGLE_CLIENT_ID ? "GOOGLE_CLIENT_SECRET" : "GOOGLE_CLIENT_ID"],
          message: "must be set together with " + (env.GOOGLE_CLIENT_ID ? "GOOGLE_CLIENT_ID" : "GOOGLE_CLIENT_SECRET"),
        });
      }
    },
    // Cross-field rules run even when another variable is bad, so one message names every problem.
    { when: () => true },
  )
  .transform((env) => {
    const appUrl = new URL(env.APP_URL ?? `http://localhost:${env.PORT}`);
    const googleConfigured = Boolean(env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET);
    return {
      ...env,
      /** Public base URL without a trailing slash: the issuer and the base of every resource URL. */
      APP_URL: appUrl.origin + appUrl.pathname.replace(/\/+$/, ""),
      LOG_LEVEL: env.LOG_LEVEL ?? (env.NODE_ENV === "test" ? "silent" : "info"),
      googleConfigured,
      /**
       * The development sign-in: asked for, or by default the only way in outside production on a loopback APP_URL
       * (a public deployment that forgot NODE_ENV=production must not let anyone sign in as any address).
       */
      devLoginEnabled:
        env.AUTH_DEV_LOGIN ?? (!googleConfigured && env.NODE_ENV !== "production" && isLoopbackHostname(appUrl.hostname)),
      secureCookies: appUrl.protocol === "https:",
    };
  });

export type Env = z.output<typeof envSchema>;

/** `*`, or an origin exactly as browsers send it: scheme://host[:port], nothing more. */
function isOriginOrStar(entry: string): boolean {
  if (entry === "*") return true;
  try {
    return new URL(entry).origin === entry;
  } catch {
    return false;
  }
}

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/** Parses a variable source (normally `process.env`); throws EnvError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value.trim() !== "") input[key] = value.trim();
  }
  // The original's names: SESSION_SECRET for AUTH_SECRET, NEXTAUTH_URL for APP_URL.
  const aliases = { AUTH_SECRET: "SESSION_SECRET", APP_URL: "NEXTAUTH_URL" } as const;
  const aliased = new Map<string, string>();
  for (const [name, alias] of Object.entries(aliases)) {
    if (!input[name] && input[alias]) {
      input[name] = input[alias];
      aliased.set(name, alias);
    }
  }

  const result = envSchema.safeParse(input);
  if (result.success) return result.data;
  throw new EnvError(
    result.error.issues.map((issue) => {
      const name = issue.path.join(".") || "(environment)";
      const alias = aliased.has(name) ? ` (from ${aliased.get(name)})` : "";
      return `${name}${alias}: ${issue.message}`;
    }),
  );
}
