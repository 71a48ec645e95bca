/**
 * docker-compose.yml's observability half, checked without Docker (no engine runs here): the mounts exist, the
 * scrape token reaches both sides, and Grafana's provisioning points at what compose mounts.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { parseEnv } from "../../server/env.ts";

interface Service {
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  configs?: Array<{ source: string; target: string }>;
  ports?: string[];
}
const compose = parseYaml(readFileSync("docker-compose.yml", "utf8")) as {
  services: Record<string, Service>;
  configs: Record<string, { content?: string; file?: string }>;
  volumes: Record<string, unknown>;
};
const prometheusConfig = parseYaml(readFileSync("prometheus/prometheus.yml", "utf8")) as {
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; authorization?: { credentials_file?: string }; static_configs: Array<{ targets: string[] }> }>;
};

/** `${NAME:-default}` -> default. */
const defaultOf = (value: string) => /^\$\{[A-Z_]+:-(.*)\}$/.exec(value)?.[1];

describe("docker compose: Prometheus and Grafana", () => {
  const { prometheus, grafana, app } = compose.services;

  it("mounts files that exist in the repository, and declares its named volumes", () => {
    for (const [name, service] of Object.entries({ prometheus, grafana })) {
      expect(service, name).toBeDefined();
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(":");
        if (source.startsWith(".")) expect(existsSync(path.resolve(source)), `${name}: ${source}`).toBe(true);
        else expect(compose.volumes, `${name}: volume ${source}`).toHaveProperty(source);
      }
      for (const port of service.ports ?? []) expect(port, `${name} publishes on loopback only`).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("gives Prometheus the same METRICS_TOKEN the app requires, as the credentials file its scrape config names", () => {
    const job = prometheusConfig.scrape_configs.find((c) => c.job_name === "mcp-oauth-server")!;
    expect(job.static_configs[0].targets).toEqual(["app:3000"]);
    const credentials = path.posix.join("/etc/prometheus", job.authorization!.credentials_file!);
    const mounted = prometheus.configs!.find((c) => c.target === credentials);
    expect(mounted, credentials).toBeDefined();
    const content = compose.configs[mounted!.source].content!;
    expect(content).toBe(app.environment!.METRICS_TOKEN);
    // The default token is one the app's configuration accepts.
    expect(() => parseEnv({ METRICS_TOKEN: defaultOf(content) })).not.toThrow();
    // Rule files are mounted where the config looks for them.
    expect(prometheusConfig.rule_files).toEqual(["rules/*.yml"]);
    expect(prometheus.volumes).toContain("./prometheus/rules:/etc/prometheus/rules:ro");
  });

  it("provisions Grafana's datasources and dashboards from what compose mounts and sets", () => {
    const datasources = readFileSync("grafana/provisioning/datasources/datasources.yml", "utf8");
    const doc = parseYaml(datasources) as { datasources: Array<{ uid: string; type: string; url: string }> };
    const uids = doc.datasources.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(doc.datasources.map((d) => d.type).sort()).toEqual(["grafana-postgresql-datasource", "prometheus"]);
    expect(doc.datasources.find((d) => d.type === "prometheus")!.url).toBe("http://prometheus:9090");
    for (const [, variable] of datasources.matchAll(/\$\{([A-Z_]+)\}/g)) {
      expect(grafana.environment, `Grafana needs ${variable}`).toHaveProperty(variable);
    }
    expect(grafana.environment!.ANALYTICS_DB_HOST).toBe("postgres:5432");
    const providers = parseYaml(readFileSync("grafana/provisioning/dashboards/dashboards.yml", "utf8")) as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(grafana.volumes).toContain(`./grafana/dashboards:${providers.providers[0].options.path}:ro`);
    expect(grafana.volumes).toContain("./grafana/provisioning:/etc/grafana/provisioning:ro");
  });
});
