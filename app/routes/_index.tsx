import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Page } from "../components/page";

export async function loader({ context }: LoaderFunctionArgs) {
  const { env } = context.services;
  return { issuer: env.APP_URL, mcpUrl: `${env.APP_URL}/mcp/mcp` };
}

export default function Index() {
  const { issuer, mcpUrl } = useLoaderData<typeof loader>();
  return (
    <Page title="MCP OAuth Server">
      <p className="text-sm text-gray-600">
        An OAuth 2.1 authorization server and MCP resource server. Point your MCP client at:
      </p>
      <pre className="mt-3 overflow-x-auto rounded bg-gray-100 p-3 text-sm">{mcpUrl}</pre>
      <p className="mt-4 text-sm text-gray-600">Issuer: {issuer}</p>
      <nav className="mt-6 flex gap-4 text-sm">
        <a className="text-blue-700 underline" href="/account">
          Your connected apps
        </a>
        <a className="text-blue-700 underline" href="/admin">
          Admin console
        </a>
      </nav>
    </Page>
  );
}
