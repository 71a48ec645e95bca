/**
 * The dashboard's charts (Tremor, drawn by Recharts in the browser once the page has hydrated). Each chart is a
 * titled figure with a one-line text summary for screen readers; time labels are UTC, like every date here.
 */
import { AreaChart, BarChart, Card, LineChart } from "@tremor/react";
import type { ReactNode } from "react";
import { formatMs, formatNumber } from "../../lib/format";

export function ChartCard({ title, summary, children }: { title: string; summary: string; children: ReactNode }) {
  return (
    <Card className="p-4">
      <figure>
        <figcaption>
          <h2 className="text-sm font-semibold text-gray-900">{title}</h2>
          <p className="sr-only">{summary}</p>
        </figcaption>
        <div aria-hidden="true">{children}</div>
      </figure>
    </Card>
  );
}

/** `14:05` for short ranges, `06-01 14:00` for longer ones (UTC). */
export function bucketLabel(start: Date, bucketSeconds: number): string {
  const iso = start.toISOString();
  return bucketSeconds >= 86400 ? iso.slice(5, 10) : bucketSeconds >= 3600 ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

const common = { className: "mt-4 h-56", showAnimation: false, autoMinValue: false, yAxisWidth: 48 } as const;

export function RequestsChart({ data }: { data: Array<{ time: string; Requests: number; "4xx": number; "5xx": number }> }) {
  return (
    <AreaChart
      {...common}
      data={data}
      index="time"
      categories={["Requests", "4xx", "5xx"]}
      colors={["blue", "amber", "red"]}
      valueFormatter={formatNumber}
      allowDecimals={false}
    />
  );
}

export function LatencyChart({ data }: { data: Array<{ time: string; p50: number | null; p95: number | null; p99: number | null }> }) {
  return (
    <LineChart {...common} yAxisWidth={64} data={data} index="time" categories={["p50", "p95", "p99"]} colors={["emerald", "amber", "red"]} valueFormatter={(v) => formatMs(v)} connectNulls />
  );
}

export function TokensChart({ data }: { data: Array<{ time: string; Tokens: number }> }) {
  return <BarChart {...common} data={data} index="time" categories={["Tokens"]} colors={["violet"]} valueFormatter={formatNumber} allowDecimals={false} showLegend={false} />;
}

export function SecurityChart({ data }: { data: Array<{ time: string; low: number; medium: number; high: number; critical: number }> }) {
  return (
    <BarChart
      {...common}
      data={data}
      index="time"
      categories={["low", "medium", "high", "critical"]}
      colors={["gray", "amber", "orange", "red"]}
      stack
      valueFormatter={formatNumber}
      allowDecimals={false}
    />
  );
}
