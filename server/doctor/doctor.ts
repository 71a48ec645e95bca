/**
 * The console's connection doctor (issue 17): a client's recent attempts as a timeline of steps with the cause and
 * the fix of what failed (`diagnoseClient`), the same for callers that never got as far as a client row, by
 * address or by the `client_id` they presented (`diagnoseCaller`), and the dashboard's failed connections grouped
 * by cause (summary.ts). Read-only, over stored rows; the tRPC `doctor` router checks the admin role.
 */
import { DomainError } from "../domain-error.ts";
import { doctorWindow, evidenceForAddress, evidenceForClient, type DoctorDeps } from "./evidence.ts";
import { diagnose, type Diagnosis } from "./timeline.ts";

export interface DoctorServices extends DoctorDeps {
  env: { APP_URL: string };
}

export interface DoctorClient {
  id: string;
  clientId: string;
  name: string;
  kind: string;
  disabled: boolean;
  redirectUris: string[];
}

export async function diagnoseClient(
  deps: DoctorServices,
  id: string,
  minutes: number,
  now = new Date(),
): Promise<{ client: DoctorClient; diagnosis: Diagnosis }> {
  const client = await deps.prisma.client.findUnique({
    where: { id },
    select: { id: true, clientId: true, name: true, kind: true, disabled: true, redirectUris: true },
  });
  if (!client) throw new DomainError("not_found", "No such client.");
  const evidence = await evidenceForClient(deps, { rowId: client.id, clientId: client.clientId }, doctorWindow(minutes, now));
  const diagnosis = diagnose(evidence, { appUrl: deps.env.APP_URL, client, now });
  if (client.disabled && !diagnosis.causes.some((c) => c.causeId === "client_disabled")) {
    // Said even before the client tries again: it is the first thing to check.
    diagnosis.notes.push("This client is disabled: its tokens are refused until it is enabled again.");
  }
  return { client, diagnosis };
}

export type CallerQuery = { ip: string } | { clientId: string };

/**
 * By address: everything recorded from it. By `client_id`: a registered client is named (the page sends the
 * operator to its own doctor); otherwise the rows that carry the string as presented, and the anonymous steps from
 * their addresses.
 */
export async function diagnoseCaller(
  deps: DoctorServices,
  query: CallerQuery,
  minutes: number,
  now = new Date(),
): Promise<{ registered: { id: string; name: string } | null; diagnosis: Diagnosis }> {
  const window = doctorWindow(minutes, now);
  if ("ip" in query) {
    return { registered: null, diagnosis: diagnose(await evidenceForAddress(deps, query.ip, window), { appUrl: deps.env.APP_URL, now }) };
  }
  const client = await deps.prisma.client.findUnique({ where: { clientId: query.clientId }, select: { id: true, name: true } });
  const evidence = await evidenceForClient(deps, { rowId: client?.id, clientId: query.clientId }, window);
  return { registered: client, diagnosis: diagnose(evidence, { appUrl: deps.env.APP_URL, now }) };
}
