/**
 * Previous/next links for a cursor-paginated list (server/db/pagination.ts). Links keep the page's filters and
 * work without JavaScript.
 */
import { Link, useLocation } from "@remix-run/react";

export interface PageInfo {
  nextCursor: string | null;
  /** Absent for forward-only lists: then "First page" leads back. */
  prevCursor?: string | null;
  total?: number;
  items: unknown[];
}

export function Pagination({ page, noun }: { page: PageInfo; noun: string }) {
  const location = useLocation();
  const href = (cursor: string | null, direction: "forward" | "backward") => {
    const params = new URLSearchParams(location.search);
    if (cursor) params.set("cursor", cursor);
    else params.delete("cursor");
    if (direction === "backward") params.set("direction", "backward");
    else params.delete("direction");
    const query = params.toString();
    return query ? `${location.pathname}?${query}` : location.pathname;
  };
  const onLaterPage = new URLSearchParams(location.search).has("cursor");
  // An empty first page needs no page links: the empty state says it all.
  if (page.items.length === 0 && !onLaterPage) return null;
  const linkClass =
    "rounded-md border border-gray-300 bg-white px-3 py-1.5 text-sm font-medium text-gray-800 shadow-sm hover:bg-gray-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500";
  const disabledClass = "rounded-md border border-gray-200 px-3 py-1.5 text-sm text-gray-400";
  return (
    <nav aria-label={`${noun} pages`} className="mt-4 flex flex-wrap items-center justify-between gap-2">
      <p className="text-sm text-gray-600">
        {page.items.length} shown{page.total !== undefined ? ` of ${page.total}` : ""} {noun}
      </p>
      <div className="flex gap-2">
        {page.prevCursor ? (
          <Link className={linkClass} to={href(page.prevCursor, "backward")} rel="prev">
            ← Newer
          </Link>
        ) : page.prevCursor === undefined && onLaterPage ? (
          <Link className={linkClass} to={href(null, "forward")}>
            ← First page
          </Link>
        ) : (
          <span className={disabledClass} aria-disabled="true">
            ← Newer
          </span>
        )}
        {page.nextCursor ? (
          <Link className={linkClass} to={href(page.nextCursor, "forward")} rel="next">
            Older →
          </Link>
        ) : (
          <span className={disabledClass} aria-disabled="true">
            Older →
          </span>
        )}
      </div>
    </nav>
  );
}
