/**
 * `doctor`: why a client cannot connect (issue 17). A client's recent attempts as a timeline with the cause and
 * the fix (`client`), the same for callers never identified, by address or presented `client_id` (`caller`), and
 * the dashboard's failed connections grouped by cause (`failures`). Read-only; admins only; the rules live in
 * server/doctor.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { diagnoseCaller, diagnoseClient } from "../../doctor/doctor.ts";
import { failedConnections } from "../../doctor/summary.ts";
import { resolveRange } from "../../analytics/time-range.ts";
import { adminProcedure, router } from "../init.ts";
import { RANGE_PRESETS } from "./analytics.ts";

/** The doctor's windows, in minutes (short: raw rows, DOCTOR_MAX_WINDOW_MS at most). */
export const DOCTOR_WINDOWS = { "15m": 15, "1h": 60, "6h": 360, "24h": 1440 } as const;
const windowInput = z.enum(Object.keys(DOCTOR_WINDOWS) as [keyof typeof DOCTOR_WINDOWS, ...Array<keyof typeof DOCTOR_WINDOWS>]).default("1h");

export const doctorRouter = router({
  client: adminProcedure
    .input(z.object({ id: z.string().min(1).max(100), window: windowInput }))
    .query(({ ctx, input }) => diagnoseClient(ctx.services, input.id, DOCTOR_WINDOWS[input.window])),

  caller: adminProcedure
    .input(
      z.union([
        z.object({ ip: z.string().trim().max(64).refine((v) => isIP(v) !== 0, "not an IP address"), window: windowInput }),
        z.object({ clientId: z.string().trim().min(1).max(2048), window: windowInput }),
      ]),
    )
    .query(({ ctx, input }) =>
      diagnoseCaller(ctx.services, "ip" in input ? { ip: input.ip } : { clientId: input.clientId }, DOCTOR_WINDOWS[input.window]),
    ),

  failures: adminProcedure
    .input(z.object({ range: z.enum(Object.keys(RANGE_PRESETS) as [keyof typeof RANGE_PRESETS, ...Array<keyof typeof RANGE_PRESETS>]).default("24h") }))
    .query(({ ctx, input }) => failedConnections(ctx.services, resolveRange({}, RANGE_PRESETS[input.range]), ctx.services.env.APP_URL)),
});
