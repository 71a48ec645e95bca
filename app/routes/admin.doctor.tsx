import { redirect, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { DiagnosisView, DOCTOR_WINDOWS, FailedConnectionsList } from "../components/admin/doctor";
import { PageHeader } from "../components/admin/shell";
import { buttonClass } from "../components/ui/button";
import { SelectField, TextField } from "../components/ui/fields";
import { callApi } from "../lib/api.server";
import { oneOf, text } from "../lib/search-params";

export const meta: MetaFunction = () => [{ title: "Connection doctor · Admin · MCP OAuth Server" }];

/**
 * For callers without a client page: by address, or by the client_id they presented (a registered one is sent to
 * its own doctor page). Without either, the failed connections of the last 24 hours.
 */
export async function loader(args: LoaderFunctionArgs) {
  const params = new URL(args.request.url).searchParams;
  const window = oneOf(params.get("window"), DOCTOR_WINDOWS.map((w) => w.value)) ?? "1h";
  const ip = text(params.get("ip"), 64);
  const clientId = text(params.get("clientId"), 2048);
  const query = { ip: ip ?? "", clientId: clientId ?? "", window };
  if (ip && !/^[0-9A-Fa-f.:]{2,45}$/.test(ip)) return { query, invalid: "That is not an IP address.", result: null, failures: null };
  return callApi(args, async (api) => {
    if (ip || clientId) {
      const result = await api.doctor.caller(ip ? { ip, window } : { clientId: clientId!, window });
      if (result.registered) throw redirect(`/admin/clients/${result.registered.id}/doctor?window=${window}`);
      return { query, invalid: null, result, failures: null };
    }
    return { query, invalid: null, result: null, failures: await api.doctor.failures({ range: "24h" }) };
  });
}

export default function DoctorPage() {
  const { query, invalid, result, failures } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader
        title="Connection doctor"
        description="Why a client can't connect: its recent attempts, step by step, from what the server recorded. For a registered client, open its page under Clients; here, look up any caller by address or by the client_id it presented."
      />
      <Form method="get" role="search" aria-label="Look up a caller" className="mb-6 rounded-xl border border-gray-200 bg-white p-4 shadow-sm">
        <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
          <TextField label="IP address" name="ip" placeholder="203.0.113.7" defaultValue={query.ip} />
          <TextField label="or client_id" name="clientId" placeholder="mcpc_… or https://…" defaultValue={query.clientId} />
          <SelectField label="Time window" name="window" defaultValue={query.window} options={[...DOCTOR_WINDOWS]} />
        </div>
        <button type="submit" className={`${buttonClass("primary", "sm")} mt-3`}>
          Diagnose
        </button>
      </Form>
      {invalid ? (
        <p role="alert" className="text-sm text-red-700">
          {invalid}
        </p>
      ) : null}
      {result ? (
        <DiagnosisView
          diagnosis={result.diagnosis}
          empty={<>Nothing was recorded for {query.ip || query.clientId} in this window. Try a longer window.</>}
        />
      ) : null}
      {failures ? (
        <section aria-labelledby="failed-connections">
          <h2 id="failed-connections" className="mb-3 text-base font-semibold text-gray-900">
            Failed connections, last 24 hours
          </h2>
          <FailedConnectionsList failures={failures} />
          <p className="mt-3 text-sm text-gray-600">
            From outside, the same checks run with <code className="font-mono">mcp-oauth-server doctor &lt;MCP URL&gt;</code>; see the{" "}
            <Link to="/admin" className="text-blue-700 hover:underline">
              dashboard
            </Link>{" "}
            for other ranges.
          </p>
        </section>
      ) : null}
    </>
  );
}
