import { Link } from "@remix-run/react";

/** The way back from a detail page to its list, e.g. "← Clients". */
export function Breadcrumb({ to, label }: { to: string; label: string }) {
  return (
    <nav aria-label="Breadcrumb" className="mb-2 text-sm">
      <Link to={to} className="text-blue-700 hover:underline">
        ← {label}
      </Link>
    </nav>
  );
}
