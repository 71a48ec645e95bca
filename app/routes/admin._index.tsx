import type { MetaFunction } from "@remix-run/node";
import { PageHeader } from "../components/admin/shell";

export const meta: MetaFunction = () => [{ title: "Dashboard · Admin · MCP OAuth Server" }];

export default function Dashboard() {
  return <PageHeader title="Dashboard" description="Traffic, tokens and security at a glance." />;
}
