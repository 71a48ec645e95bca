import type { ReactNode } from "react";

/** What a table shows instead of rows: what would be here, and how it gets here. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="rounded-lg border border-dashed border-gray-300 bg-white px-6 py-10 text-center">
      <p className="text-sm font-medium text-gray-900">{title}</p>
      {children ? <div className="mt-1 text-sm text-gray-500">{children}</div> : null}
    </div>
  );
}
