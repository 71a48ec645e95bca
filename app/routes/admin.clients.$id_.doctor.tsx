import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { ClientKindBadge, StatusBadge } from "../components/admin/badges";
import { Breadcrumb } from "../components/admin/breadcrumb";
import { DiagnosisView, DOCTOR_WINDOWS, WindowPicker } from "../components/admin/doctor";
import { PageHeader } from "../components/admin/shell";
import { callApi } from "../lib/api.server";
import { oneOf } from "../lib/search-params";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Connection doctor · ${data?.client.name ?? "Client"} · Admin · MCP OAuth Server` }];

export async function loader(args: LoaderFunctionArgs) {
  const window = oneOf(new URL(args.request.url).searchParams.get("window"), DOCTOR_WINDOWS.map((w) => w.value)) ?? "1h";
  const { client, diagnosis } = await callApi(args, (api) => api.doctor.client({ id: args.params.id ?? "", window }));
  return { client, diagnosis, window };
}

export default function ClientDoctorPage() {
  const { client, diagnosis, window } = useLoaderData<typeof loader>();
  return (
    <>
      <Breadcrumb to={`/admin/clients/${client.id}`} label={client.name} />
      <PageHeader
        title={`Connection doctor: ${client.name}`}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <ClientKindBadge kind={client.kind} />
            <StatusBadge disabled={client.disabled} />
            <span className="font-mono text-xs">{client.clientId}</span>
          </span>
        }
        actions={<WindowPicker current={window} />}
      />
      <DiagnosisView
        diagnosis={diagnosis}
        empty={
          <>
            This client made no request in this window. A client that fails before it registers has no page of its own: look it
            up by address or client_id in the <Link to="/admin/doctor" className="text-blue-700 hover:underline">connection doctor</Link>.
          </>
        }
      />
    </>
  );
}
