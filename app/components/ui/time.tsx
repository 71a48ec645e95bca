import { formatDateTime } from "../../lib/format";

/** A timestamp as `<time>` (machine-readable) in UTC; "never" when missing. */
export function Time({ value, fallback = "never" }: { value: Date | null | undefined; fallback?: string }) {
  if (!value) return <span className="text-gray-400">{fallback}</span>;
  return (
    <time dateTime={value.toISOString()} className="whitespace-nowrap">
      {formatDateTime(value)}
    </time>
  );
}
