import { Badge } from "@tremor/react";

export function RoleBadge({ role, configured }: { role: string; configured: boolean }) {
  if (role !== "ADMIN") return <Badge color="gray">User</Badge>;
  return (
    <Badge color="blue" title={configured ? "Listed in ADMIN_EMAILS" : "Promoted in the console"}>
      {configured ? "Admin (configured)" : "Admin"}
    </Badge>
  );
}

const SEVERITY_COLOR = { low: "gray", medium: "amber", high: "orange", critical: "red" } as const;

export function SeverityBadge({ severity }: { severity: string }) {
  return <Badge color={SEVERITY_COLOR[severity as keyof typeof SEVERITY_COLOR] ?? "gray"}>{severity}</Badge>;
}

const KIND_LABEL: Record<string, string> = { DYNAMIC: "Dynamic", METADATA_DOCUMENT: "Metadata document", MANUAL: "Manual" };

export function ClientKindBadge({ kind }: { kind: string }) {
  return <Badge color={kind === "MANUAL" ? "violet" : kind === "METADATA_DOCUMENT" ? "cyan" : "slate"}>{KIND_LABEL[kind] ?? kind}</Badge>;
}

export function StatusBadge({ disabled }: { disabled: boolean }) {
  return disabled ? <Badge color="red">Disabled</Badge> : <Badge color="emerald">Active</Badge>;
}
