/**
 * A GET form of filters above a table: changing a filter starts again at the first page (the cursor is not
 * carried over). Works without JavaScript.
 */
import { Form, Link, useLocation } from "@remix-run/react";
import type { ReactNode } from "react";
import { buttonClass } from "./button";

export function FilterBar({ label, children }: { label: string; children: ReactNode }) {
  const { pathname, search } = useLocation();
  return (
    <Form method="get" role="search" aria-label={label} className="mb-4 rounded-xl border border-gray-200 bg-white p-4 shadow-sm">
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-4">{children}</div>
      <div className="mt-3 flex gap-2">
        <button type="submit" className={buttonClass("primary", "sm")}>
          Apply filters
        </button>
        {search ? (
          <Link to={pathname} className={buttonClass("ghost", "sm")}>
            Clear
          </Link>
        ) : null}
      </div>
    </Form>
  );
}
