import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { SeverityBadge } from "../components/admin/badges";
import { PageHeader } from "../components/admin/shell";
import { Button } from "../components/ui/button";
import { EmptyState } from "../components/ui/empty-state";
import { SelectField, TextField } from "../components/ui/fields";
import { FilterBar } from "../components/ui/filter-bar";
import { Pagination } from "../components/ui/pagination";
import { DataTable, TableCell, TableRow } from "../components/ui/table";
import { Time } from "../components/ui/time";
import { callApi } from "../lib/api.server";
import { oneOf, pageParams, text } from "../lib/search-params";
import { useActionMutation, useTRPC } from "../lib/trpc";

export const meta: MetaFunction = () => [{ title: "Security events · Admin · MCP OAuth Server" }];

const SEVERITIES = ["low", "medium", "high", "critical"] as const;
const WINDOWS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 } as const;
const WINDOW_KEYS = Object.keys(WINDOWS) as Array<keyof typeof WINDOWS>;

export async function loader(args: LoaderFunctionArgs) {
  const params = new URL(args.request.url).searchParams;
  const window = oneOf(params.get("window"), WINDOW_KEYS);
  const id = text(params.get("id"), 64);
  const filters = {
    id: id && /^[0-9a-f-]{36}$/i.test(id) ? id : undefined,
    type: text(params.get("type"), 64),
    severity: oneOf(params.get("severity"), SEVERITIES),
    clientId: text(params.get("clientId"), 2048),
    reviewed: oneOf(params.get("reviewed"), ["all", "reviewed", "unreviewed"] as const) ?? "all",
    window,
  };
  return callApi(args, async (api) => {
    const [page, types] = await Promise.all([
      api.security.list({
        id: filters.id,
        type: filters.type && /^[A-Za-z0-9_.:-]+$/.test(filters.type) ? filters.type : undefined,
        severity: filters.severity,
        clientId: filters.clientId,
        reviewed: filters.reviewed,
        from: window ? new Date(Date.now() - WINDOWS[window]) : undefined,
        ...pageParams(params),
      }),
      api.security.types(),
    ]);
    return { page, types, filters };
  });
}

export default function SecurityPage() {
  const { page, types, filters } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const review = useActionMutation(trpc.security.markReviewed.mutationOptions(), {
    success: (r) => (r.reviewed === 1 ? "Event marked reviewed." : `${r.reviewed} events marked reviewed.`),
  });
  const unreviewedIds = page.items.filter((e) => !e.reviewedAt).map((e) => e.id);
  const filtered = Boolean(filters.id || filters.type || filters.severity || filters.clientId || filters.window || filters.reviewed !== "all");
  return (
    <>
      <PageHeader
        title="Security events"
        description="Token reuse, invalid tokens, rate limiting, refused origins and admin actions. Review what matters and mark it reviewed."
        actions={
          unreviewedIds.length > 0 ? (
            <Button size="sm" disabled={review.isPending} onClick={() => review.mutate({ ids: unreviewedIds })}>
              Mark {unreviewedIds.length} on this page reviewed
            </Button>
          ) : null
        }
      />
      <FilterBar label="Filter security events">
        <SelectField
          label="Type"
          name="type"
          defaultValue={filters.type ?? ""}
          options={[{ value: "", label: "Any type" }, ...unionWith(types, filters.type).map((t) => ({ value: t, label: t }))]}
        />
        <SelectField
          label="Severity"
          name="severity"
          defaultValue={filters.severity ?? ""}
          options={[{ value: "", label: "Any severity" }, ...SEVERITIES.map((s) => ({ value: s, label: s }))]}
        />
        <TextField label="Client ID" name="clientId" placeholder="mcpc_…" defaultValue={filters.clientId ?? ""} />
        <SelectField
          label="Time range"
          name="window"
          defaultValue={filters.window ?? ""}
          options={[
            { value: "", label: "Any time" },
            { value: "1h", label: "Last hour" },
            { value: "24h", label: "Last 24 hours" },
            { value: "7d", label: "Last 7 days" },
            { value: "30d", label: "Last 30 days" },
          ]}
        />
        <SelectField
          label="Review status"
          name="reviewed"
          defaultValue={filters.reviewed}
          options={[
            { value: "all", label: "All" },
            { value: "unreviewed", label: "Not reviewed" },
            { value: "reviewed", label: "Reviewed" },
          ]}
        />
      </FilterBar>
      {page.items.length === 0 ? (
        <EmptyState title={filtered ? "No security events match these filters." : "No security events yet."}>
          Events are recorded as they happen: failed client authentication, token or code reuse, rate limiting, refused origins.
        </EmptyState>
      ) : (
        <DataTable caption="Security events" columns={["Time", "Event", "Severity", "Client", "User / IP", "Details", "Review"]}>
          {page.items.map((event) => (
            <TableRow key={event.id}>
              <TableCell>
                <Time value={event.timestamp} />
              </TableCell>
              <TableCell className="font-mono text-xs">{event.eventType}</TableCell>
              <TableCell>
                <SeverityBadge severity={event.severity} />
              </TableCell>
              <TableCell className="max-w-[14rem] truncate text-xs">
                {event.clientId && event.clientPublicId ? (
                  <Link className="text-blue-700 hover:underline" to={`/admin/clients/${event.clientId}`} title={event.clientPublicId}>
                    {event.clientName ?? event.clientPublicId}
                  </Link>
                ) : (
                  <span title={event.clientId ?? undefined}>{event.clientId ?? "–"}</span>
                )}
              </TableCell>
              <TableCell className="text-xs">
                {event.userEmail || event.userId || !event.ipAddress ? (
                  <div>{event.userEmail ?? (event.userId ? <span className="font-mono">{event.userId}</span> : "–")}</div>
                ) : null}
                {event.ipAddress ? <div className="font-mono text-gray-500">{event.ipAddress}</div> : null}
              </TableCell>
              <TableCell className="max-w-xs text-xs">
                <Details details={event.details} />
              </TableCell>
              <TableCell className="text-xs">
                {event.reviewedAt ? (
                  <span className="text-gray-600">
                    ✓ {event.reviewedByEmail ?? "reviewed"}
                    <br />
                    <Time value={event.reviewedAt} />
                  </span>
                ) : (
                  <Button size="sm" disabled={review.isPending} aria-label={`Mark ${event.eventType} event of ${event.timestamp.toISOString()} reviewed`} onClick={() => review.mutate({ ids: [event.id] })}>
                    Mark reviewed
                  </Button>
                )}
              </TableCell>
            </TableRow>
          ))}
        </DataTable>
      )}
      <Pagination page={page} noun="events" />
    </>
  );
}

function unionWith(list: string[], extra: string | undefined): string[] {
  return extra && !list.includes(extra) ? [...list, extra] : list;
}

/** `details` as short `key: value` lines (values are never secrets; see server/events.ts). */
function Details({ details }: { details: unknown }) {
  if (!details || typeof details !== "object") return <span className="text-gray-400">–</span>;
  const entries = Object.entries(details as Record<string, unknown>).slice(0, 6);
  if (entries.length === 0) return <span className="text-gray-400">–</span>;
  return (
    <dl className="space-y-0.5">
      {entries.map(([key, value]) => (
        <div key={key} className="flex gap-1">
          <dt className="text-gray-500">{key}:</dt>
          <dd className="truncate font-mono" title={typeof value === "string" ? value : JSON.stringify(value)}>
            {typeof value === "string" ? value : JSON.stringify(value)}
          </dd>
        </div>
      ))}
    </dl>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
