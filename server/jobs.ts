/**
 * Periodic maintenance jobs (expired sessions, codes and tokens, unused registrations, analytics retention).
 * Each run is independent; a failing run is logged and retried at the next tick. Timers never keep the process up.
 */
import type { Logger } from "./logger.ts";

interface Job {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
  timer?: NodeJS.Timeout;
  running?: Promise<unknown>;
}

export class JobRunner {
  private readonly jobs: Job[] = [];
  private stopped = false;

  constructor(private readonly log: Logger) {}

  /** Schedules `run` every `everyMs`, first run after `firstRunMs` (default: one period). */
  every(name: string, everyMs: number, run: () => Promise<unknown>, firstRunMs = everyMs): void {
    const job: Job = { name, everyMs, run };
    this.jobs.push(job);
    const tick = () => {
      if (this.stopped) return;
      job.running = this.runNow(job).finally(() => {
        job.running = undefined;
        if (!this.stopped) job.timer = setTimeout(tick, job.everyMs).unref();
      });
    };
    job.timer = setTimeout(tick, firstRunMs).unref();
  }

  /** Runs a job by name now (tests, admin actions). */
  async run(name: string): Promise<unknown> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`No job named ${name}`);
    return this.runNow(job);
  }

  private async runNow(job: Job): Promise<unknown> {
    try {
      return await job.run();
    } catch (error) {
      this.log.warn({ err: error, job: job.name }, "maintenance job failed");
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs) clearTimeout(job.timer);
    await Promise.allSettled(this.jobs.map((j) => j.running));
  }
}
