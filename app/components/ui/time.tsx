import { formatDateTime, isoOf } from "../../lib/format";

/** A timestamp as `<time>` (machine-readable) in UTC; "never" when missing. */
export function Time({ value, fallback = "never" }: { value: Date | string | null | undefined; fallback?: string }) {
  const iso = isoOf(value);
  if (!iso) return <span className="text-gray-400">{fallback}</span>;
  return (
    <time dateTime={iso} className="whitespace-nowrap">
      {formatDateTime(value)}
    </time>
  );
}
