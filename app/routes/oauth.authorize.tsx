/**
 * GET/POST /oauth/authorize: the authorization endpoint's page. Thin adapter: services.oauth decides (see
 * server/oauth/authorize.ts); this route signs the person in (services.auth.requireUser → /login?returnTo=…),
 * checks the consent form's CSRF token, and renders the consent or error page or follows the redirect.
 */
import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import type { AppLoadContext } from "@remix-run/server-runtime";
import type { AuthorizeOutcome } from "../../server/oauth/authorize.ts";
import { AuthorizeErrorPage, ConsentPage } from "../components/consent";

export const meta: MetaFunction = () => [{ title: "Authorize · MCP OAuth Server" }];

type PageData =
  | { kind: "error-page"; error: string; description: string; continueTo?: { href: string; host: string } }
  | { kind: "consent"; view: Extract<AuthorizeOutcome, { kind: "consent" }>["view"]; csrf: string; action: string };

const NO_STORE = { "Cache-Control": "no-store" };

/** Consent and error pages are never cached (they carry a CSRF token and the person's email). */
export const headers: HeadersFunction = () => NO_STORE;

async function respond(outcome: AuthorizeOutcome, request: Request, context: AppLoadContext) {
  switch (outcome.kind) {
    case "redirect":
      throw redirect(outcome.location, { headers: NO_STORE });
    case "login":
      await context.services.auth.requireUser(request);
      throw new Error("unreachable: requireUser redirects");
    case "error-page":
      return data<PageData>(
        { kind: "error-page", error: outcome.error, description: outcome.description, ...(outcome.continueTo ? { continueTo: outcome.continueTo } : {}) },
        { status: outcome.status, headers: NO_STORE },
      );
    case "consent": {
      const { token, setCookie } = await context.services.csrf.issue(request);
      const url = new URL(request.url);
      return data<PageData>(
        { kind: "consent", view: outcome.view, csrf: token, action: url.pathname + url.search },
        { headers: { ...NO_STORE, ...(setCookie ? { "Set-Cookie": setCookie } : {}) } },
      );
    }
  }
}

function pageError(status: number, error: string, description: string) {
  return data<PageData>({ kind: "error-page", error, description }, { status, headers: NO_STORE });
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { auth, oauth } = context.services;
  const outcome = await oauth.authorize(request, context.meta, { user: () => auth.getUser(request) });
  return respond(outcome, request, context);
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { auth, csrf, oauth } = context.services;
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return pageError(400, "invalid_request", "The consent form could not be read.");
  }
  if (!(await csrf.verify(request, form))) {
    return pageError(403, "invalid_request", "This consent form expired or did not come from this site. Start again from the application.");
  }
  const answer = form.get("decision");
  if (answer !== "allow" && answer !== "deny") return pageError(400, "invalid_request", "Choose Allow or Deny.");
  // requireUser redirects to sign-in (and back) if the session ended meanwhile.
  const outcome = await oauth.authorize(request, context.meta, { user: () => auth.requireUser(request), decision: answer });
  return respond(outcome, request, context);
}

export default function Authorize() {
  const loaded = useLoaderData<typeof loader>();
  const acted = useActionData<typeof action>();
  const page = (acted ?? loaded) as unknown as PageData;
  if (page.kind === "consent") return <ConsentPage view={page.view} csrf={page.csrf} action={page.action} />;
  return <AuthorizeErrorPage error={page.error} description={page.description} continueTo={page.continueTo} />;
}
