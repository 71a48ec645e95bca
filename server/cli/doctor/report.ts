/**
 * The doctor's findings: one line per step, ✓ passed, ✗ failed (with the cause and the fix from the shared
 * catalogue, server/doctor/causes.ts), ! a warning, - skipped; or one JSON document for scripts. The run passes only
 * when no step failed.
 */
import { CAUSES, type CauseId } from "../../doctor/causes.ts";

export type StepStatus = "pass" | "fail" | "warn" | "skip";

export interface Step {
  id: string;
  title: string;
  status: StepStatus;
  /** What was seen (status codes, values), never a token or secret. */
  detail?: string;
  cause?: CauseId;
}

export class Report {
  readonly steps: Step[] = [];

  constructor(private readonly onStep?: (step: Step) => void) {}

  add(step: Step): Step {
    this.steps.push(step);
    this.onStep?.(step);
    return step;
  }

  pass(id: string, title: string, detail?: string): Step {
    return this.add({ id, title, status: "pass", ...(detail ? { detail } : {}) });
  }

  fail(id: string, title: string, cause: CauseId, detail?: string): Step {
    return this.add({ id, title, status: "fail", cause, ...(detail ? { detail } : {}) });
  }

  warn(id: string, title: string, cause: CauseId | undefined, detail?: string): Step {
    return this.add({ id, title, status: "warn", ...(cause ? { cause } : {}), ...(detail ? { detail } : {}) });
  }

  skip(id: string, title: string, detail: string): Step {
    return this.add({ id, title, status: "skip", detail });
  }

  get ok(): boolean {
    return this.steps.every((step) => step.status !== "fail");
  }

  toJSON() {
    return {
      ok: this.ok,
      steps: this.steps.map((step) => ({ ...step, ...(step.cause ? { causeText: CAUSES[step.cause].cause, fix: CAUSES[step.cause].fix } : {}) })),
    };
  }
}

const MARK: Record<StepStatus, string> = { pass: "✓", fail: "✗", warn: "!", skip: "-" };

/** One step as text lines for a terminal. */
export function formatStep(step: Step): string {
  const lines = [`${MARK[step.status]} ${step.title}${step.detail ? ` — ${step.detail}` : ""}`];
  if (step.cause && step.status !== "pass") {
    lines.push(`    cause: ${CAUSES[step.cause].cause}`, `    fix:   ${CAUSES[step.cause].fix}`);
  }
  return lines.join("\n");
}
