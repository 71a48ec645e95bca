import { redirect, type ActionFunctionArgs } from "@remix-run/node";

/** POST /logout ends the session (GET does nothing, so a link or image cannot sign anyone out). */
export async function action({ request, context }: ActionFunctionArgs) {
  const setCookie = await context.services.auth.signOut(request);
  return redirect("/login", { headers: { "Set-Cookie": setCookie } });
}

export function loader() {
  return redirect("/");
}
