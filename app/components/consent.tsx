/**
 * The consent page: which application asks, where it will send the answer, what it may do. A plain HTML form (it
 * works without JavaScript) posting back to the same authorization URL with the CSRF token; the host forbids
 * framing (frame-ancestors 'none', X-Frame-Options DENY) so the buttons cannot be clickjacked.
 */
import type { ConsentView } from "../../server/oauth/authorize.ts";
import { Page } from "./page";

export function ConsentPage({ view, csrf, action }: { view: ConsentView; csrf: string; action: string }) {
  return (
    <Page title={`Allow ${view.clientName} to use your account?`}>
      <div className="space-y-5 text-sm text-gray-700">
        <p>
          <strong className="font-semibold text-gray-900">{view.clientName}</strong> wants to use this server&apos;s MCP
          tools as <strong className="font-semibold text-gray-900">{view.userEmail}</strong>.
        </p>
        <dl className="space-y-2 rounded-md border border-gray-200 bg-gray-50 p-4">
          <div>
            <dt className="text-xs font-medium uppercase tracking-wide text-gray-500">Sends you back to</dt>
            <dd className="break-all font-mono text-gray-900" data-testid="redirect-host">
              {view.redirectHost}
            </dd>
          </div>
          {view.clientIdHost ? (
            <div>
              <dt className="text-xs font-medium uppercase tracking-wide text-gray-500">Published by</dt>
              <dd className="break-all font-mono text-gray-900">{view.clientIdHost}</dd>
            </div>
          ) : null}
          <div>
            <dt className="text-xs font-medium uppercase tracking-wide text-gray-500">For</dt>
            <dd className="break-all font-mono text-gray-900">{view.resource}</dd>
          </div>
        </dl>
        {(() => {
          const added = view.scopes.filter((scope) => !scope.alreadyAllowed);
          const kept = view.scopes.filter((scope) => scope.alreadyAllowed);
          return (
            <div>
              <h2 className="mb-2 font-medium text-gray-900">
                {kept.length > 0 ? "It asks for more. It will also be able to:" : "It will be able to:"}
              </h2>
              <ul className="space-y-2" data-testid="scopes">
                {added.map((scope) => (
                  <li key={scope.name} className="flex gap-2" data-testid="new-scope">
                    <span aria-hidden="true" className="text-blue-700">
                      ✓
                    </span>
                    <span>
                      {scope.description} <code className="text-xs text-gray-500">{scope.name}</code>
                      {scope.tools.length > 0 ? (
                        <span className="block text-xs text-gray-500">Needed by: {scope.tools.join(", ")}</span>
                      ) : null}
                    </span>
                  </li>
                ))}
              </ul>
              {kept.length > 0 ? (
                <p className="mt-2 text-xs text-gray-500" data-testid="kept-scopes">
                  You already allowed: {kept.map((scope) => scope.name).join(", ")}
                </p>
              ) : null}
              {view.ignoredScopes.length > 0 ? (
                <p className="mt-2 text-xs text-gray-500">Not granted: {view.ignoredScopes.join(", ")}</p>
              ) : null}
            </div>
          );
        })()}
        {view.loopbackOnly ? (
          <p className="rounded-md border border-amber-300 bg-amber-50 p-3 text-xs text-amber-900" role="note" data-testid="loopback-warning">
            This application sends you back only to this computer (a localhost address), so any program running here could
            use its name. Allow only if you just started this sign-in from an app on this computer.
          </p>
        ) : null}
        {view.nameUnverified ? (
          <p className="text-xs text-gray-500">
            The application chose its own name; this server has not verified it. Allow only if you started this sign-in
            and recognise where it sends you back to.
          </p>
        ) : null}
        <form method="post" action={action} className="flex gap-3 pt-2">
          <input type="hidden" name="csrf" value={csrf} />
          <button
            type="submit"
            name="decision"
            value="deny"
            className="flex-1 rounded-md border border-gray-300 bg-white px-4 py-2 text-sm font-medium text-gray-800 shadow-sm hover:bg-gray-50 focus:outline-none focus:ring-2 focus:ring-blue-500"
          >
            Deny
          </button>
          <button
            type="submit"
            name="decision"
            value="allow"
            className="flex-1 rounded-md bg-blue-600 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-blue-700 focus:outline-none focus:ring-2 focus:ring-blue-500 focus:ring-offset-2"
          >
            Allow
          </button>
        </form>
      </div>
    </Page>
  );
}

/**
 * An authorization request that cannot continue. Either it cannot be sent back to the application at all
 * (RFC 6749 §4.1.2.1), or the application's redirect URI is not trusted enough to be sent there automatically
 * (RFC 9700 §4.11.2): then the person gets a link to the error response and decides.
 */
export function AuthorizeErrorPage({
  error,
  description,
  continueTo,
}: {
  error: string;
  description: string;
  continueTo?: { href: string; host: string };
}) {
  return (
    <Page title="This sign-in request cannot continue">
      <p className="text-sm text-gray-700" role="alert">
        {description}
      </p>
      <p className="mt-4 text-xs text-gray-500">
        Error code: <code data-testid="oauth-error">{error}</code>
      </p>
      {continueTo ? (
        <p className="mt-4 text-sm text-gray-600">
          If you started this from the application, you can tell it what happened:{" "}
          <a href={continueTo.href} rel="noreferrer" className="font-medium text-blue-700 underline" data-testid="continue">
            return to <span className="font-mono">{continueTo.host}</span>
          </a>
          . Otherwise, close this window.
        </p>
      ) : (
        <p className="mt-4 text-sm text-gray-600">Close this window and start again from the application.</p>
      )}
    </Page>
  );
}
