/**
 * The sign-out button: a POST to /logout with the page's CSRF token (app/routes/logout.tsx refuses anything else,
 * so no link, image or other site's form can sign anyone out). A full document request, so every cached page state
 * goes with the session.
 */
import { Form } from "@remix-run/react";

export function SignOutForm({ csrf, className }: { csrf: string; className: string }) {
  return (
    <Form method="post" action="/logout" reloadDocument>
      <input type="hidden" name="csrf" value={csrf} />
      <button type="submit" className={className}>
        Sign out
      </button>
    </Form>
  );
}
