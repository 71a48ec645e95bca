import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Card } from "@tremor/react";
import type { ReactNode } from "react";
import { bucketLabel, ChartCard, LatencyChart, RequestsChart, SecurityChart, TokensChart } from "../components/admin/charts";
import { FailedConnectionsList } from "../components/admin/doctor";
import { PageHeader } from "../components/admin/shell";
import { Time } from "../components/ui/time";
import { callApi } from "../lib/api.server";
import { formatMs, formatNumber, formatPercent } from "../lib/format";
import { oneOf } from "../lib/search-params";

export const meta: MetaFunction = () => [{ title: "Dashboard · Admin · MCP OAuth Server" }];

const RANGES = [
  { value: "1h", label: "1 hour" },
  { value: "24h", label: "24 hours" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
] as const;

export async function loader(args: LoaderFunctionArgs) {
  const range = oneOf(new URL(args.request.url).searchParams.get("range"), ["1h", "24h", "7d", "30d"] as const) ?? "24h";
  const [summary, series, failures] = await callApi(args, (api) =>
    Promise.all([api.analytics.summary({ range }), api.analytics.timeSeries({ range }), api.doctor.failures({ range })]),
  );
  return { range, summary, series, failures };
}

export default function Dashboard() {
  const { range, summary, series, failures } = useLoaderData<typeof loader>();
  const label = (start: Date) => bucketLabel(start, series.bucketSeconds);
  const requests = series.requests.map((b) => ({ time: label(b.start), Requests: b.requests, "4xx": b.clientErrors, "5xx": b.serverErrors }));
  const latency = series.requests.map((b) => ({ time: label(b.start), p50: b.p50Ms, p95: b.p95Ms, p99: b.p99Ms }));
  const tokens = series.tokens.map((b) => ({ time: label(b.start), Tokens: b.count }));
  const security = series.security.map((b) => ({ time: label(b.start), low: b.low, medium: b.medium, high: b.high, critical: b.critical }));
  const r = summary.requests;
  const rangeLabel = RANGES.find((x) => x.value === range)!.label;
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={
          <>
            Last {rangeLabel}: <Time value={summary.range.from} /> to <Time value={summary.range.to} />.
          </>
        }
        actions={<RangePicker current={range} />}
      />
      <section aria-label="Key figures" className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-3">
        <Kpi label="Requests" value={formatNumber(r.requests)} detail={`${formatNumber(r.uniqueUsers)} users, ${formatNumber(r.uniqueClients)} clients`} />
        <Kpi
          label="Error rate (5xx)"
          value={formatPercent(r.errorRate)}
          tone={r.errorRate >= 0.01 ? "bad" : "good"}
          detail={`${formatNumber(r.serverErrors)} server errors, ${formatNumber(r.clientErrors)} client errors (4xx)`}
        />
        <Kpi label="Latency p95" value={formatMs(r.p95Ms)} detail={`p50 ${formatMs(r.p50Ms)} · p99 ${formatMs(r.p99Ms)}`} />
        <Kpi label="Tokens issued" value={formatNumber(summary.tokensIssued)} detail="Successful token endpoint responses" />
        <Kpi
          label="Active clients"
          value={formatNumber(summary.clients.live)}
          detail={`holding live tokens now · ${formatNumber(summary.clients.inRange)} made requests in range`}
        />
        <Kpi
          label="Security events"
          value={formatNumber(summary.security.total)}
          tone={summary.security.unreviewed > 0 ? "warn" : "good"}
          detail={
            summary.security.unreviewed > 0 ? (
              <Link to="/admin/security?reviewed=unreviewed" className="text-blue-700 hover:underline">
                {formatNumber(summary.security.unreviewed)} not reviewed
              </Link>
            ) : (
              "All reviewed"
            )
          }
        />
      </section>
      <section aria-label="Charts" className="mt-6 grid grid-cols-1 gap-4 lg:grid-cols-2">
        <ChartCard title="Requests" summary={`${formatNumber(r.requests)} requests, ${formatNumber(r.serverErrors)} server errors and ${formatNumber(r.clientErrors)} client errors in the last ${rangeLabel}.`}>
          <RequestsChart data={requests} />
        </ChartCard>
        <ChartCard title="Latency" summary={`p50 ${formatMs(r.p50Ms)}, p95 ${formatMs(r.p95Ms)}, p99 ${formatMs(r.p99Ms)}.`}>
          <LatencyChart data={latency} />
        </ChartCard>
        <ChartCard title="Tokens issued" summary={`${formatNumber(summary.tokensIssued)} tokens issued.`}>
          <TokensChart data={tokens} />
        </ChartCard>
        <ChartCard title="Security events by severity" summary={summary.security.bySeverity.map((s) => `${s.count} ${s.severity}`).join(", ") || "No security events."}>
          <SecurityChart data={security} />
        </ChartCard>
      </section>
      <section aria-labelledby="failed-connections" className="mt-6">
        <h2 id="failed-connections" className="mb-1 text-base font-semibold text-gray-900">
          Failed connections
        </h2>
        <p className="mb-3 text-sm text-gray-600">
          Clients that tried and failed, by cause{failures.capped ? " (the last 7 days of this range)" : ""}. Open one for its attempts step by step, or look
          up any caller in the{" "}
          <Link to="/admin/doctor" className="text-blue-700 hover:underline">
            connection doctor
          </Link>
          .
        </p>
        <FailedConnectionsList failures={failures} />
      </section>
      <section aria-label="Top lists" className="mt-6 grid grid-cols-1 gap-4 lg:grid-cols-2">
        <TopList
          title="Busiest clients"
          empty="No client traffic in this range."
          rows={summary.topClients.map((c) => ({
            key: c.clientId,
            label: c.name ?? c.clientId,
            // A deleted client (no name) keeps its rows until retention but has no page.
            href: c.name !== null ? `/admin/clients/${c.clientDbId}` : undefined,
            value: `${formatNumber(c.requests)} req · ${formatNumber(c.errors)} errors`,
          }))}
        />
        <TopList
          title="Busiest endpoints"
          empty="No requests in this range."
          rows={summary.topEndpoints.map((e) => ({ key: e.endpoint, label: e.endpoint, value: `${formatNumber(e.requests)} req · p95 ${formatMs(e.p95Ms)}`, mono: true }))}
        />
      </section>
    </>
  );
}

function RangePicker({ current }: { current: string }) {
  return (
    <nav aria-label="Time range">
      <ul className="inline-flex rounded-md border border-gray-300 bg-white p-0.5 shadow-sm">
        {RANGES.map((r) => (
          <li key={r.value}>
            <Link
              to={`?range=${r.value}`}
              aria-current={current === r.value ? "page" : undefined}
              className={`block rounded px-3 py-1.5 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 ${
                current === r.value ? "bg-blue-600 text-white" : "text-gray-700 hover:bg-gray-100"
              }`}
            >
              {r.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

const TONE = { good: "text-gray-900", warn: "text-amber-700", bad: "text-red-700" } as const;

function Kpi({ label, value, detail, tone = "good" }: { label: string; value: string; detail: ReactNode; tone?: keyof typeof TONE }) {
  return (
    <Card className="p-4">
      <h2 className="text-sm text-gray-600">{label}</h2>
      <p className={`mt-1 text-3xl font-semibold tabular-nums ${TONE[tone]}`}>{value}</p>
      <p className="mt-1 text-xs text-gray-500">{detail}</p>
    </Card>
  );
}

function TopList({
  title,
  rows,
  empty,
}: {
  title: string;
  empty: string;
  rows: Array<{ key: string; label: string; value: string; mono?: boolean; href?: string }>;
}) {
  return (
    <Card className="p-4">
      <h2 className="text-sm font-semibold text-gray-900">{title}</h2>
      {rows.length === 0 ? (
        <p className="mt-3 text-sm text-gray-500">{empty}</p>
      ) : (
        <ul className="mt-3 divide-y divide-gray-100">
          {rows.map((row) => (
            <li key={row.key} className="flex items-center justify-between gap-3 py-2 text-sm">
              {row.href ? (
                <Link to={row.href} className="min-w-0 truncate text-blue-700 hover:underline" title={row.label}>
                  {row.label}
                </Link>
              ) : (
                <span className={`min-w-0 truncate ${row.mono ? "font-mono text-xs" : ""}`} title={row.label}>
                  {row.label}
                </span>
              )}
              <span className="shrink-0 text-gray-600 tabular-nums">{row.value}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
