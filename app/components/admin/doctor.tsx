/**
 * The connection doctor's views: the causes found (each with its fix and the facts the stored rows hold) and the
 * attempts as a timeline of steps, each linked to the security event or request row behind it. Types are the
 * tRPC `doctor` router's output, as the loaders pass it on.
 */
import { Link } from "@remix-run/react";
import { Badge, Card } from "@tremor/react";
import type { ReactNode } from "react";
import type { FailedConnections } from "../../../server/doctor/summary.ts";
import type { Diagnosis, Finding, TimelineStep as Step } from "../../../server/doctor/timeline.ts";
import { EmptyState } from "../ui/empty-state";
import { Time } from "../ui/time";

export const DOCTOR_WINDOWS = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "6h", label: "Last 6 hours" },
  { value: "24h", label: "Last 24 hours" },
] as const;
export type DoctorWindow = (typeof DOCTOR_WINDOWS)[number]["value"];

const STATUS_BADGE = {
  ok: <Badge color="emerald">passed</Badge>,
  failed: <Badge color="red">failed</Badge>,
  stopped: <Badge color="amber">stopped</Badge>,
} as const;

const OUTCOME_LABEL = { connected: "Connected", failed: "Failed", incomplete: "Did not finish" } as const;

export function DiagnosisView({ diagnosis, empty }: { diagnosis: Diagnosis; empty: ReactNode }) {
  const steps = diagnosis.attempts.reduce((n, a) => n + a.steps.length, 0);
  return (
    <div className="space-y-6">
      {diagnosis.notes.map((note) => (
        <p key={note} role="status" className="rounded-lg border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
          {note}
        </p>
      ))}
      {diagnosis.truncated ? (
        <p className="text-sm text-gray-600">This window holds more rows than the doctor reads at once: the oldest are not shown. Choose a shorter window.</p>
      ) : null}
      <section aria-labelledby="doctor-causes">
        <h2 id="doctor-causes" className="mb-3 text-base font-semibold text-gray-900">
          What went wrong
        </h2>
        {diagnosis.causes.length === 0 ? (
          <p className="text-sm text-gray-600">{steps === 0 ? "Nothing recorded in this window." : "No failing step in this window."}</p>
        ) : (
          <ul className="space-y-3">
            {diagnosis.causes.map((c) => (
              <li key={c.causeId}>
                <CauseCard finding={c} count={c.count} lastSeen={c.lastSeen} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="doctor-attempts">
        <h2 id="doctor-attempts" className="mb-3 text-base font-semibold text-gray-900">
          Attempts
        </h2>
        {diagnosis.attempts.length === 0 ? (
          <EmptyState title="No attempts recorded in this window.">{empty}</EmptyState>
        ) : (
          <div className="space-y-4">
            {diagnosis.attempts.map((attempt, i) => (
              <Card key={i} className="p-4">
                <h3 className="mb-2 flex flex-wrap items-center gap-2 text-sm font-medium text-gray-900">
                  <span>{OUTCOME_LABEL[attempt.outcome]}</span>
                  <span className="font-normal text-gray-600">
                    <Time value={attempt.startedAt} /> – <Time value={attempt.endedAt} />
                  </span>
                </h3>
                <ol aria-label="Steps" className="divide-y divide-gray-100">
                  {attempt.steps.map((step, j) => (
                    <StepRow key={j} step={step} />
                  ))}
                </ol>
              </Card>
            ))}
          </div>
        )}
      </section>
    </div>
  );
}

function CauseCard({ finding, count, lastSeen }: { finding: Finding; count: number; lastSeen: Date }) {
  return (
    <div className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm" data-cause={finding.causeId}>
      <p className="font-medium text-red-900">{finding.cause}</p>
      {finding.facts.length > 0 ? (
        <ul className="mt-2 list-disc space-y-1 pl-5 text-red-900">
          {finding.facts.map((fact) => (
            <li key={fact} className="break-all">
              {fact}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="mt-2 text-gray-900">
        <span className="font-medium">Fix: </span>
        {finding.fix}
      </p>
      <p className="mt-2 text-xs text-gray-600">
        Seen {count} time{count === 1 ? "" : "s"}, last <Time value={lastSeen} />.
      </p>
    </div>
  );
}

function StepRow({ step }: { step: Step }) {
  return (
    <li className="py-2 text-sm" data-step={step.kind} data-status={step.status}>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <Time value={step.at} />
        {STATUS_BADGE[step.status]}
        <span className="font-medium text-gray-900">{step.label}</span>
        {step.httpStatus !== null ? <span className="font-mono text-xs text-gray-600">{step.httpStatus}</span> : null}
        {step.oauthError ? <span className="font-mono text-xs text-red-700">{step.oauthError}</span> : null}
        {step.ipAddress ? (
          <Link to={`/admin/doctor?ip=${encodeURIComponent(step.ipAddress)}`} className="font-mono text-xs text-blue-700 hover:underline">
            {step.ipAddress}
          </Link>
        ) : null}
      </div>
      {step.finding && step.status !== "ok" ? (
        <div className="mt-1 text-gray-800">
          <p>
            {step.finding.cause} <span className="font-medium">Fix:</span> {step.finding.fix}
          </p>
          {step.finding.facts.length > 0 ? (
            <ul className="mt-1 list-disc pl-5 text-gray-700">
              {step.finding.facts.map((fact) => (
                <li key={fact} className="break-all">
                  {fact}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      <p className="mt-1 flex flex-wrap gap-x-3 text-xs text-gray-600">
        {step.evidence.map((e) =>
          e.kind === "security" ? (
            <Link key={e.id} to={`/admin/security?id=${e.id}`} className="text-blue-700 hover:underline">
              Security event: {e.label}
            </Link>
          ) : (
            <span key={e.id} id={`request-${e.id}`} title={`Request row ${e.id}`}>
              Request: <span className="font-mono">{e.label}</span> <span className="text-gray-400">({e.id.slice(0, 8)}…)</span>
            </span>
          ),
        )}
        {step.userAgent ? <span className="truncate">{step.userAgent}</span> : null}
      </p>
    </li>
  );
}

/** The window links (GET: works without JavaScript); other search parameters are kept. */
export function WindowPicker({ current, params = {} }: { current: DoctorWindow; params?: Record<string, string> }) {
  return (
    <nav aria-label="Time window" className="flex flex-wrap gap-1">
      {DOCTOR_WINDOWS.map((w) => (
        <Link
          key={w.value}
          to={`?${new URLSearchParams({ ...params, window: w.value })}`}
          aria-current={w.value === current ? "page" : undefined}
          className={`rounded-md px-2 py-1 text-sm ${w.value === current ? "bg-blue-600 text-white" : "text-gray-700 hover:bg-gray-100"}`}
        >
          {w.label}
        </Link>
      ))}
    </nav>
  );
}

/** The dashboard's failed connections: one card per cause, the clients (or addresses) under it, each a link to its doctor. */
export function FailedConnectionsList({ failures }: { failures: FailedConnections }) {
  if (failures.causes.length === 0) {
    return <p className="text-sm text-gray-600">No client failed to connect in this range.</p>;
  }
  return (
    <ul className="grid grid-cols-1 gap-4 lg:grid-cols-2">
      {failures.causes.map((c) => (
        <li key={c.causeId} data-cause={c.causeId}>
          <Card className="h-full p-4">
            <p className="text-sm font-medium text-gray-900">{c.cause}</p>
            <p className="mt-1 text-sm text-gray-700">
              <span className="font-medium">Fix: </span>
              {c.fix}
            </p>
            <ul aria-label="Who tried" className="mt-3 divide-y divide-gray-100 text-sm">
              {c.subjects.map((s) => (
                <li key={`${s.kind}:${s.clientDbId ?? s.clientId ?? s.ipAddress}`} className="flex flex-wrap items-center justify-between gap-2 py-1.5">
                  <SubjectLink subject={s} />
                  <span className="text-xs text-gray-600">
                    {s.count}× · last <Time value={s.lastSeen} />
                  </span>
                </li>
              ))}
            </ul>
          </Card>
        </li>
      ))}
    </ul>
  );
}

function SubjectLink({ subject }: { subject: FailedConnections["causes"][number]["subjects"][number] }) {
  if (subject.kind === "client") {
    return (
      <Link to={`/admin/clients/${subject.clientDbId}/doctor`} className="text-blue-700 hover:underline">
        {subject.name ?? subject.clientId}
      </Link>
    );
  }
  if (subject.kind === "unknown_client") {
    return (
      <Link to={`/admin/doctor?clientId=${encodeURIComponent(subject.clientId ?? "")}`} className="break-all font-mono text-xs text-blue-700 hover:underline">
        {subject.clientId} <span className="font-sans text-gray-500">(not registered)</span>
      </Link>
    );
  }
  return (
    <Link to={`/admin/doctor?ip=${encodeURIComponent(subject.ipAddress ?? "")}`} className="font-mono text-xs text-blue-700 hover:underline">
      {subject.ipAddress ?? "unknown address"} <span className="font-sans text-gray-500">(no client identified)</span>
    </Link>
  );
}
