/**
 * Analytics rows name a client by whichever id the emitter had: the OAuth endpoints record the Client row id, the
 * MCP transports the public `client_id`. The dashboard's "busiest clients" merges the two entries of one client
 * (summing requests and errors) so each client appears once, under its name.
 */
import type { ClientUsage } from "../../analytics/queries.ts";
import type { Services } from "../../services.ts";

export interface MergedClientUsage extends ClientUsage {
  /** The Client row id, when the client still exists (for a link to its page). */
  clientDbId: string | null;
}

export async function mergeClientUsage(deps: Pick<Services, "prisma">, rows: ClientUsage[]): Promise<MergedClientUsage[]> {
  const ids = rows.map((r) => r.clientId);
  const clients = ids.length
    ? await deps.prisma.client.findMany({
        where: { OR: [{ id: { in: ids } }, { clientId: { in: ids } }] },
        select: { id: true, clientId: true, name: true },
      })
    : [];
  const byAnyId = new Map(clients.flatMap((c) => [[c.id, c] as const, [c.clientId, c] as const]));
  const merged = new Map<string, MergedClientUsage>();
  for (const row of rows) {
    const client = byAnyId.get(row.clientId);
    const key = client?.id ?? row.clientId;
    const seen = merged.get(key);
    if (seen) {
      seen.requests += row.requests;
      seen.errors += row.errors;
      if (row.lastSeen > seen.lastSeen) seen.lastSeen = row.lastSeen;
    } else {
      merged.set(key, { ...row, clientId: client?.clientId ?? row.clientId, name: client?.name ?? row.name, clientDbId: client?.id ?? null });
    }
  }
  return [...merged.values()].sort((a, b) => b.requests - a.requests);
}
