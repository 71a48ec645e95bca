/**
 * Dashboards as code (kubernetes-mixin habit): every dashboard parses, uids are unique, datasources are variables,
 * every PromQL expression parses (lezer-promql, then Prometheus's own parser through promtool) and names only
 * metrics the running server exposes or the recording rules define, and every SQL panel runs against the migrated
 * schema with its Grafana macros expanded.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { parse as parseYaml } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { parseExposition, smokeFlow } from "./support.ts";

const DASHBOARDS = path.resolve("grafana/dashboards");
const RULES = path.resolve("prometheus/rules");

interface Target {
  refId: string;
  datasource?: { type: string; uid: string };
  expr?: string;
  rawSql?: string;
  format?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown; datasource?: { type: string; uid: string } }> };
}

const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith(".json"));
const dashboards = files.map((file) => ({ file, json: JSON.parse(readFileSync(path.join(DASHBOARDS, file), "utf8")) as Dashboard }));

const DATASOURCE_VARIABLES: Record<string, string> = {
  prometheus: "${datasource}",
  "grafana-postgresql-datasource": "${analytics}",
};

function promTargets(): Array<{ dashboard: string; panel: string; expr: string }> {
  return dashboards.flatMap(({ json }) =>
    json.panels.flatMap((panel) =>
      (panel.targets ?? []).filter((t) => t.expr !== undefined).map((t) => ({ dashboard: json.uid, panel: panel.title, expr: t.expr! })),
    ),
  );
}

function sqlTargets(): Array<{ dashboard: string; panel: string; sql: string; format?: string; type: string }> {
  return dashboards.flatMap(({ json }) =>
    json.panels.flatMap((panel) =>
      (panel.targets ?? [])
        .filter((t) => t.rawSql !== undefined)
        .map((t) => ({ dashboard: json.uid, panel: panel.title, sql: t.rawSql!, format: t.format, type: panel.type })),
    ),
  );
}

/** Grafana's built-in variables and the dashboards' own, as Grafana would substitute them. */
function substitutePromVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "30s")
    .replaceAll("$__range", "6h")
    .replaceAll("$job", "mcp-oauth-server")
    .replaceAll("$instance", "app:3000");
}

/** Metric names an expression selects (lezer-promql syntax tree); throws on a syntax error. */
function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === "VectorSelector") {
        const identifier = node.node.getChild("Identifier");
        if (identifier) names.push(expr.slice(identifier.from, identifier.to));
      }
    },
  });
  if (errors.length) throw new Error(`PromQL syntax error at ${errors[0]}: ${expr}`);
  return names;
}

/** Expands the Grafana Postgres macros the dashboards use, for a range ending now. */
function expandSqlMacros(sql: string, from: Date, to: Date): string {
  const iso = (d: Date) => `'${d.toISOString()}'`;
  const expanded = sql
    .replaceAll("$__interval_ms", "60000")
    .replaceAll("$__interval", "60s")
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, col: string) => `${col} BETWEEN ${iso(from)} AND ${iso(to)}`)
    .replace(/\$__timeGroupAlias\(([^,]+),\s*([^)]+)\)/g, (_m, col: string) => `floor(extract(epoch from ${col})/60)*60 AS "time"`)
    .replace(/\$__timeGroup\(([^,]+),\s*([^)]+)\)/g, (_m, col: string) => `floor(extract(epoch from ${col})/60)*60`)
    .replaceAll("$__timeFrom()", iso(from))
    .replaceAll("$__timeTo()", iso(to));
  if (expanded.includes("$")) throw new Error(`Unexpanded Grafana macro or variable in: ${sql}`);
  return expanded;
}

describe("Grafana dashboards as code", () => {
  it("has the five dashboards, each valid JSON with a unique uid and title", () => {
    expect(files.sort()).toEqual(["analytics.json", "mcp.json", "oauth.json", "overview.json", "security.json"]);
    const uids = dashboards.map((d) => d.json.uid);
    expect(new Set(uids).size).toBe(uids.length);
    const titles = dashboards.map((d) => d.json.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const { file, json } of dashboards) {
      expect(json.uid, file).toMatch(/^[a-z0-9-]{1,40}$/);
      expect(json.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(json.panels.length, file).toBeGreaterThan(5);
    }
  });

  it("panel ids are unique and panels fit the 24-column grid without overlapping", () => {
    for (const { file, json } of dashboards) {
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      const taken = new Set<string>();
      for (const panel of json.panels) {
        const { x, y, w, h } = panel.gridPos;
        expect(x + w, `${file}: ${panel.title}`).toBeLessThanOrEqual(24);
        for (let i = x; i < x + w; i++) {
          for (let j = y; j < y + h; j++) {
            const cell = `${i},${j}`;
            expect(taken.has(cell), `${file}: ${panel.title} overlaps at ${cell}`).toBe(false);
            taken.add(cell);
          }
        }
      }
    }
  });

  it("every panel and query uses a datasource variable, and the dashboard defines it", () => {
    for (const { file, json } of dashboards) {
      const variables = new Map(json.templating.list.map((v) => [v.name, v]));
      for (const variable of json.templating.list.filter((v) => v.type === "query")) {
        expect(variable.datasource?.uid, `${file}: variable ${variable.name}`).toBe(DATASOURCE_VARIABLES[variable.datasource!.type]);
      }
      for (const panel of json.panels) {
        if (panel.type === "row" || panel.type === "text") continue;
        const sources = [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)];
        expect(panel.targets?.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
        for (const source of sources) {
          expect(source, `${file}: ${panel.title}`).toBeDefined();
          expect(source!.uid, `${file}: ${panel.title}`).toBe(DATASOURCE_VARIABLES[source!.type]);
          const variable = variables.get(source!.uid.slice(2, -1));
          expect(variable, `${file}: variable ${source!.uid}`).toMatchObject({ type: "datasource", query: source!.type });
        }
      }
    }
  });

  it("every PromQL expression parses (lezer-promql)", () => {
    const targets = promTargets();
    expect(targets.length).toBeGreaterThan(50);
    for (const target of targets) {
      expect(() => metricNames(substitutePromVariables(target.expr)), `${target.dashboard}: ${target.panel}`).not.toThrow();
    }
  });

  it("every PromQL expression is accepted by Prometheus's own parser (promtool check rules)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "dashboards-promql-"));
    const rules = promTargets().map((t, i) => ({ record: `dashboard:expr:${i}`, expr: substitutePromVariables(t.expr) }));
    const file = path.join(dir, "dashboards.yml");
    writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboards", rules }] }));
    const output = execFileSync("promtool", ["check", "rules", file], { encoding: "utf8" });
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("alert annotations link to dashboards that exist", () => {
    const uids = new Set(dashboards.map((d) => d.json.uid));
    const alerts = readFileSync(path.join(RULES, "alerts.yml"), "utf8");
    const links = [...alerts.matchAll(/dashboard: \/d\/([a-z0-9-]+)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(0);
    for (const uid of links) expect(uids.has(uid), uid).toBe(true);
  });
});

describe("dashboards against the running server and the migrated schema", () => {
  let server: TestServer;
  let exposed: Set<string>;
  let recorded: Set<string>;

  beforeAll(async () => {
    server = await startTestServer({ AUTH_DEV_LOGIN: "true", RATE_LIMIT_MCP_PER_IP: "4" });
    const { metricsText } = await smokeFlow(server);
    const { samples, types } = parseExposition(metricsText);
    exposed = new Set([...types.keys(), ...samples.map((s) => s.name)]);
    for (const [name, type] of types) {
      if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exposed.add(name + suffix);
    }
    recorded = new Set<string>();
    for (const file of readdirSync(RULES)) {
      const doc = parseYaml(readFileSync(path.join(RULES, file), "utf8")) as { groups: Array<{ rules: Array<{ record?: string }> }> };
      for (const group of doc.groups) for (const rule of group.rules) if (rule.record) recorded.add(rule.record);
    }
  });

  it("every metric a PromQL panel names is exposed by /metrics or defined by a recording rule", () => {
    const missing = new Set<string>();
    for (const target of promTargets()) {
      for (const name of metricNames(substitutePromVariables(target.expr))) {
        if (!exposed.has(name) && !recorded.has(name)) missing.add(`${name} (${target.dashboard}: ${target.panel})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it("every SQL panel runs against the migrated schema (Grafana macros expanded) and time series have a time column", async () => {
    const targets = sqlTargets();
    expect(targets.length).toBeGreaterThan(10);
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - 6 * 3600_000);
    let withRows = 0;
    for (const target of targets) {
      const sql = expandSqlMacros(target.sql, from, to);
      const result = await server.services.db.pool.query(sql).catch((error: Error) => {
        throw new Error(`${target.dashboard}: ${target.panel}: ${error.message}\n${sql}`);
      });
      if (target.format === "time_series") expect(result.fields.map((f) => f.name), target.panel).toContain("time");
      if (result.rowCount) withRows += 1;
    }
    // The smoke flow left requests and security events: nearly every panel has something to show.
    expect(withRows).toBeGreaterThanOrEqual(targets.length - 3);
  });
});
