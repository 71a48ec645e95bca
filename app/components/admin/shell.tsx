/**
 * The admin console's frame: brand, section navigation, who is signed in, sign-out. On a phone the navigation
 * becomes a horizontally scrolling row under the header.
 */
import { NavLink } from "@remix-run/react";
import type { ReactNode } from "react";
import { SignOutForm } from "../sign-out-form";

const SECTIONS = [
  { to: "/admin", label: "Dashboard", end: true },
  { to: "/admin/clients", label: "Clients" },
  { to: "/admin/tokens", label: "Tokens" },
  { to: "/admin/users", label: "Users" },
  { to: "/admin/identity-providers", label: "Identity providers" },
  { to: "/admin/security", label: "Security" },
  { to: "/admin/doctor", label: "Doctor" },
];

export function AdminShell({ email, csrf, children }: { email: string; csrf: string; children: ReactNode }) {
  return (
    <div className="min-h-full">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:shadow">
        Skip to content
      </a>
      <header className="border-b border-gray-200 bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-x-6 gap-y-2 px-4 py-3 sm:px-6">
          <a href="/admin" className="text-xs font-semibold uppercase tracking-wider text-blue-700">
            MCP OAuth Server <span className="text-gray-400">· Admin</span>
          </a>
          <div className="flex min-w-0 items-center gap-3 text-sm">
            <a href="/account" className="text-blue-700 hover:underline">
              Your apps
            </a>
            <span className="hidden truncate text-gray-600 sm:inline" title={email}>
              {email}
            </span>
            <SignOutForm
              csrf={csrf}
              className="rounded-md px-2 py-1 text-gray-700 hover:bg-gray-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500"
            />
          </div>
        </div>
        <nav aria-label="Admin sections" className="mx-auto max-w-7xl overflow-x-auto px-2 sm:px-4">
          <ul className="flex gap-1">
            {SECTIONS.map((s) => (
              <li key={s.to}>
                <NavLink
                  to={s.to}
                  end={s.end}
                  prefetch="intent"
                  className={({ isActive }) =>
                    `block whitespace-nowrap border-b-2 px-3 py-2 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 ${
                      isActive ? "border-blue-600 text-blue-700" : "border-transparent text-gray-600 hover:border-gray-300 hover:text-gray-900"
                    }`
                  }
                >
                  {s.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-6 sm:px-6">
        {children}
      </main>
    </div>
  );
}

/** Page title row: heading, one-line explanation, optional actions on the right. */
export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div className="min-w-0">
        <h1 className="text-xl font-semibold text-gray-900">{title}</h1>
        {description ? <p className="mt-1 text-sm text-gray-600">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}
