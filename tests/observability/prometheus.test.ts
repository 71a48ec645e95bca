/**
 * The Prometheus side, checked with the real tools: `promtool check config`, `promtool check rules`,
 * `promtool test rules` (prometheus/tests/*.yml), and a real Prometheus (Debian's /usr/bin/prometheus) scraping
 * the running test server with the repository's own scrape config and rules.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../server/db/embedded.ts";
import { startTestServer } from "../helpers/server.ts";
import { eventually, mcpPost, seedAccessToken } from "./support.ts";

const PROMETHEUS_DIR = path.resolve("prometheus");
const METRICS_TOKEN = "prometheus-test-token-0123456789";

/** A copy of prometheus/ with the token file docker compose would provide. */
function configCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "prometheus-config-"));
  cpSync(PROMETHEUS_DIR, dir, { recursive: true });
  writeFileSync(path.join(dir, "metrics-token"), METRICS_TOKEN);
  return dir;
}

function promtool(...args: string[]): string {
  return execFileSync("promtool", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("Prometheus config and rules (promtool)", () => {
  it("promtool check config accepts prometheus/prometheus.yml with its rule files", () => {
    const dir = configCopy();
    try {
      const output = promtool("check", "config", path.join(dir, "prometheus.yml"));
      expect(output).toMatch(/SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
      expect(output).toContain("SUCCESS: 2 rule files found");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("promtool check rules accepts every rule file", () => {
    const files = readdirSync(path.join(PROMETHEUS_DIR, "rules")).map((f) => path.join(PROMETHEUS_DIR, "rules", f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    const output = promtool("check", "rules", ...files);
    expect(output.match(/SUCCESS/g)).toHaveLength(files.length);
  });

  it("promtool test rules passes the alert unit tests (burn rates, reuse spike, database down, analytics dropping)", () => {
    const tests = readdirSync(path.join(PROMETHEUS_DIR, "tests")).map((f) => path.join(PROMETHEUS_DIR, "tests", f));
    const output = promtool("test", "rules", ...tests);
    expect(output).toContain("SUCCESS");
    // Each alert the issue asks for has at least one test.
    const text = tests.map((t) => readFileSync(t, "utf8")).join("\n");
    for (const alert of ["ErrorBudgetBurnFast", "ErrorBudgetBurnMedium", "ErrorBudgetBurnSlow", "RefreshTokenReuseSpike", "DatabaseDown", "AnalyticsDroppingRows"]) {
      expect(text).toContain(`alertname: ${alert}`);
    }
  });
});

describe("a real Prometheus scraping the running server", () => {
  let prometheus: ChildProcess | undefined;
  let dir: string | undefined;
  let stderr = "";

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once("exit", resolve));
      prometheus.kill("SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("scrapes /metrics with the bearer token and answers queries, recording rules included", async () => {
    const server = await startTestServer({ METRICS_TOKEN });
    const seeded = await seedAccessToken(server);
    await mcpPost(server.url, seeded.token, "tools/call", { name: "whoami", arguments: {} });

    dir = configCopy();
    const config = parseYaml(readFileSync(path.join(dir, "prometheus.yml"), "utf8")) as {
      global: Record<string, unknown>;
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    config.global.scrape_interval = "1s";
    config.global.evaluation_interval = "1s";
    const job = config.scrape_configs.find((c) => c.job_name === "mcp-oauth-server")!;
    job.static_configs = [{ targets: [new URL(server.url).host] }];
    config.scrape_configs = [job];
    writeFileSync(path.join(dir, "prometheus.yml"), stringifyYaml(config));

    const port = await freePort();
    prometheus = spawn(
      "/usr/bin/prometheus",
      [
        `--config.file=${path.join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    prometheus.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    const api = `http://127.0.0.1:${port}/api/v1`;
    const query = async (promql: string) => {
      const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`).catch(() => undefined);
      if (!res?.ok) return undefined;
      const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return body.data.result;
    };

    const up = await eventually(async () => {
      const result = await query('up{job="mcp-oauth-server"}');
      return result?.length && result[0].value[1] === "1" ? result : undefined;
    }, 20_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}; prometheus stderr:\n${stderr}`);
    });
    expect(up[0].metric.instance).toBe(new URL(server.url).host);

    const calls = await eventually(async () => {
      const result = await query('mcp_tool_calls_total{tool="whoami",outcome="ok"}');
      return result?.length ? result : undefined;
    }, 10_000, 250);
    expect(calls[0].value[1]).toBe("1");

    // A recording rule evaluated over scraped data, while traffic keeps coming.
    const rate = await eventually(async () => {
      await fetch(`${server.url}/api/health`);
      const result = await query("job:slo_requests:rate5m");
      return result?.length && Number(result[0].value[1]) > 0 ? result : undefined;
    }, 15_000, 250);
    expect(rate[0].metric.job).toBe("mcp-oauth-server");
    expect(Number(rate[0].value[1])).toBeGreaterThan(0);
  });
});
