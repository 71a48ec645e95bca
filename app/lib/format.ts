/**
 * Formatting that renders the same on the server and in the browser (no local time zone, fixed locale), so
 * hydration never disagrees.
 */
const number = new Intl.NumberFormat("en-US");

export function formatNumber(value: number): string {
  return number.format(value);
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 2 : 1)}%`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** `2025-06-01 14:03 UTC`. */
export function formatDateTime(value: Date | null | undefined): string {
  return value ? `${value.toISOString().slice(0, 16).replace("T", " ")} UTC` : "never";
}
