/**
 * Stored rows → the steps an MCP client takes, each with its status and, where a step failed or the flow stopped,
 * the cause and the fix from the one catalogue (causes.ts). Pure: evidence.ts reads the rows, this decides.
 *
 * The steps (MCP Authorization, 2025-11-25): the MCP request without a token and its 401 challenge (RFC 9728
 * §5.1), the discovery documents (RFC 9728 §3, RFC 8414 §3), registration (RFC 7591) or a metadata document, the
 * authorization request and where it stopped (sign-in, consent, an error; RFC 6749 §4.1), the token request (§3.2)
 * and the MCP calls with the token (RFC 6750 §2.1). A security event recorded during a request is attached to that
 * request's step (same address, within its duration); one that matches none is a step of its own.
 */
import { CAUSES, type CauseId } from "./causes.ts";
import { expectedRefusal, stepOf, type StepId } from "./steps.ts";
import { causeOfRequest, causeOfSecurityEvent, type CauseContext } from "./rules.ts";
import type { Evidence, RequestEvidence, SecurityEvidence } from "./evidence.ts";

export type StepStatus = "ok" | "failed" | "stopped";

export interface Finding {
  causeId: CauseId;
  cause: string;
  fix: string;
  /** What the stored rows say about this case (the Origin refused, the redirect_uri asked for, ...). */
  facts: string[];
}

export interface EvidenceLink {
  kind: "request" | "security";
  id: string;
  /** e.g. `GET /.well-known/oauth-protected-resource/* 200` or `INVALID_TOKEN (medium)`. */
  label: string;
}

export interface TimelineStep {
  at: Date;
  kind: StepId;
  label: string;
  status: StepStatus;
  httpStatus: number | null;
  oauthError: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  finding: Finding | null;
  evidence: EvidenceLink[];
}

export interface Attempt {
  startedAt: Date;
  endedAt: Date;
  outcome: "connected" | "failed" | "incomplete";
  causeId: CauseId | null;
  steps: TimelineStep[];
}

export interface CauseCount extends Finding {
  count: number;
  lastSeen: Date;
}

export interface Diagnosis {
  from: Date;
  to: Date;
  /** Most recent first. */
  attempts: Attempt[];
  /** Every cause found, most frequent first. */
  causes: CauseCount[];
  truncated: boolean;
  /** Things to say that no step shows (e.g. the client is disabled). */
  notes: string[];
}

export interface DiagnoseContext extends CauseContext {
  now?: Date;
}

/** Distinct facts shown with one cause, at most. */
const MAX_FACTS = 8;
/** A gap longer than this between two steps starts a new attempt. */
const ATTEMPT_GAP_MS = 10 * 60_000;
/** How long after a 401 challenge a client has to fetch the metadata before the doctor says it never did. */
const DISCOVERY_WAIT_MS = 2 * 60_000;
/** A flow idle for this long at sign-in, consent or with an unredeemed code has stopped there. */
const STOPPED_AFTER_MS = 30_000;

export function diagnose(evidence: Evidence, context: DiagnoseContext): Diagnosis {
  const now = context.now ?? new Date();
  const steps: Array<TimelineStep & { request?: RequestEvidence }> = [];
  for (const request of evidence.requests) {
    const kind = stepOf(request);
    if (!kind) continue;
    steps.push({
      at: request.timestamp,
      kind: kind.id,
      label: kind.label,
      status: request.statusCode >= 400 && !expectedRefusal(kind.id) ? "failed" : "ok",
      httpStatus: request.statusCode,
      oauthError: request.oauthError,
      ipAddress: request.ipAddress,
      userAgent: request.userAgent,
      finding: null,
      evidence: [{ kind: "request", id: request.id, label: `${request.method} ${request.endpoint} ${request.statusCode}` }],
      request,
    } as TimelineStep & { request: RequestEvidence });
  }
  for (const event of evidence.security) attachSecurityEvent(steps, event, evidence, context);
  for (const step of steps) {
    if (step.finding || !step.request) continue;
    const causeId = causeOfRequest(step.request);
    const { statusCode, oauthError } = step.request;
    if (causeId) step.finding = finding(causeId, [`The server answered ${statusCode}${oauthError ? ` with ${oauthError}` : ""}.`]);
    if (step.finding && step.status === "ok") step.status = "failed";
  }
  steps.sort((a, b) => a.at.getTime() - b.at.getTime());
  applySequenceRules(steps, now);
  const clean: TimelineStep[] = steps.map(({ request: _request, ...step }) => step);
  return { from: evidence.from, to: evidence.to, attempts: attemptsOf(clean), causes: causeCounts(clean), truncated: evidence.truncated, notes: [] };
}

function finding(causeId: CauseId, facts: string[]): Finding {
  return { causeId, cause: CAUSES[causeId].cause, fix: CAUSES[causeId].fix, facts };
}

/** The request the event was recorded during: same address, within its duration (a second either side). */
function attachSecurityEvent(
  steps: Array<TimelineStep & { request?: RequestEvidence }>,
  event: SecurityEvidence,
  evidence: Evidence,
  context: CauseContext,
): void {
  const verdict = causeOfSecurityEvent(event, evidence, context);
  const link: EvidenceLink = { kind: "security", id: event.id, label: `${event.eventType} (${event.severity})` };
  const t = event.timestamp.getTime();
  let best: (TimelineStep & { request?: RequestEvidence }) | undefined;
  let bestDistance = Infinity;
  for (const step of steps) {
    const request = step.request;
    if (!request || request.ipAddress !== event.ipAddress || !verdict.kinds.includes(step.kind)) continue;
    const start = request.timestamp.getTime() - 1_000;
    const end = request.timestamp.getTime() + request.responseTime + 1_000;
    if (t < start || t > end) continue;
    // Prefer a refused request, then the closest; a step already explained keeps its first event.
    const distance = Math.abs(t - request.timestamp.getTime()) + (request.statusCode >= 400 ? 0 : 10_000) + (step.finding ? 20_000 : 0);
    if (distance < bestDistance) {
      best = step;
      bestDistance = distance;
    }
  }
  const found = verdict.causeId ? finding(verdict.causeId, verdict.facts) : null;
  if (best) {
    best.evidence.push(link);
    if (found && !best.finding) {
      best.finding = found;
      best.status = "failed";
    }
    return;
  }
  steps.push({
    at: event.timestamp,
    kind: verdict.standalone.id,
    label: verdict.standalone.label,
    status: found ? "failed" : "ok",
    httpStatus: null,
    oauthError: null,
    ipAddress: event.ipAddress,
    userAgent: event.userAgent,
    finding: found,
    evidence: [link],
  });
}

/** The rules that need the steps around a step: a challenge never followed, a flow that stopped. */
function applySequenceRules(steps: TimelineStep[], now: Date): void {
  const later = (i: number, within: number, test: (s: TimelineStep) => boolean) => {
    const limit = steps[i].at.getTime() + within;
    for (let j = i + 1; j < steps.length && steps[j].at.getTime() <= limit; j++) if (test(steps[j])) return true;
    return false;
  };
  const sameClient = (a: TimelineStep, b: TimelineStep) => a.ipAddress === b.ipAddress;
  const idleSince = (step: TimelineStep) => now.getTime() - step.at.getTime() >= STOPPED_AFTER_MS;
  const progressed = (i: number, kinds: string[]) =>
    later(i, ATTEMPT_GAP_MS, (s) => sameClient(steps[i], s) && kinds.includes(s.kind));
  steps.forEach((step, i) => {
    if (step.finding) return;
    const id = step.kind;
    if (id === "mcp_challenge") {
      const followed = later(i, DISCOVERY_WAIT_MS, (s) => sameClient(step, s) && s.userAgent === step.userAgent && ["discovery", "registration", "authorize", "token"].includes(s.kind));
      if (!followed) {
        step.finding = finding("discovery_not_reached", []);
        step.status = "stopped";
      }
    } else if (id === "authorize" && step.httpStatus === 302 && !step.oauthError) {
      const toSignIn = later(i, 60_000, (s) => sameClient(step, s) && s.kind === "sign_in");
      if (toSignIn) {
        step.label = "Authorization request: sent to sign in";
        if (!progressed(i, ["authorize", "consent", "token"]) && idleSince(step)) {
          step.finding = finding("stopped_at_sign_in", []);
          step.status = "stopped";
        }
      } else {
        step.label = "Authorization request: code sent to the client";
        if (!progressed(i, ["token"]) && idleSince(step)) {
          step.finding = finding("code_not_redeemed", []);
          step.status = "stopped";
        }
      }
    } else if (id === "authorize" && step.httpStatus === 200) {
      step.label = "Authorization request: consent page shown";
      if (!progressed(i, ["consent", "authorize", "token"]) && idleSince(step)) {
        step.finding = finding("stopped_at_consent", []);
        step.status = "stopped";
      }
    } else if (id === "consent" && step.httpStatus === 302 && !step.oauthError) {
      step.label = "Consent: allowed, code sent to the client";
      if (!progressed(i, ["token"]) && idleSince(step)) {
        step.finding = finding("code_not_redeemed", []);
        step.status = "stopped";
      }
    }
  });
}

function attemptsOf(steps: TimelineStep[]): Attempt[] {
  const attempts: Attempt[] = [];
  let current: TimelineStep[] = [];
  const close = () => {
    if (current.length === 0) return;
    const failures = current.filter((s) => s.finding);
    const connected = current.some((s) => s.kind === "mcp" && s.status === "ok");
    const last = failures.at(-1);
    attempts.push({
      startedAt: current[0].at,
      endedAt: current.at(-1)!.at,
      outcome: connected && (!last || last !== current.at(-1)) ? "connected" : last ? "failed" : "incomplete",
      causeId: last?.finding?.causeId ?? null,
      steps: current,
    });
    current = [];
  };
  for (const step of steps) {
    const previous = current.at(-1);
    if (previous && step.at.getTime() - previous.at.getTime() > ATTEMPT_GAP_MS) close();
    current.push(step);
  }
  close();
  return attempts.reverse();
}

function causeCounts(steps: TimelineStep[]): CauseCount[] {
  const counts = new Map<CauseId, CauseCount>();
  for (const step of steps) {
    if (!step.finding) continue;
    const seen = counts.get(step.finding.causeId);
    if (!seen) counts.set(step.finding.causeId, { ...step.finding, facts: [...step.finding.facts], count: 1, lastSeen: step.at });
    else {
      seen.count += 1;
      if (step.at >= seen.lastSeen) seen.lastSeen = step.at;
      // Every distinct fact the steps showed (the host called and the resource asked for are both worth reading).
      for (const fact of step.finding.facts) if (!seen.facts.includes(fact) && seen.facts.length < MAX_FACTS) seen.facts.push(fact);
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || b.lastSeen.getTime() - a.lastSeen.getTime());
}
