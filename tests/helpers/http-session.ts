/**
 * A tiny browser stand-in for HTTP-level tests: keeps cookies across requests (honouring Max-Age=0 deletions), never
 * follows redirects on its own, and knows how to read the CSRF token out of our forms.
 */
export interface CookieInfo {
  name: string;
  value: string;
  /** The raw Set-Cookie line that set it last. */
  raw: string;
}

export class HttpSession {
  readonly cookies = new Map<string, CookieInfo>();

  constructor(readonly baseUrl: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = [...this.cookies.values()].map((c) => `${c.name}=${c.value}`).join("; ");
    if (cookie && !headers.has("cookie")) headers.set("cookie", cookie);
    const url = /^https?:/.test(path) ? path : `${this.baseUrl}${path}`;
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(response);
    return response;
  }

  /** Remembers the cookies a response set (from any origin: tests talk to our server and the fake Google). */
  store(response: Response): void {
    for (const raw of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = raw.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, { name, value, raw });
    }
  }

  /** GETs a page with a form and returns the form's CSRF token. */
  async csrfToken(path = "/login"): Promise<string> {
    const response = await this.fetch(path);
    const html = await response.text();
    const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!token) throw new Error(`No CSRF token on ${path} (status ${response.status})`);
    return token;
  }

  /** POSTs an HTML form (application/x-www-form-urlencoded). */
  postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Signs in through the development sign-in form; returns the response (a redirect on success). */
  async devSignIn(email: string, returnTo = "/"): Promise<Response> {
    const csrf = await this.csrfToken(`/login?returnTo=${encodeURIComponent(returnTo)}`);
    return this.postForm(`/login?returnTo=${encodeURIComponent(returnTo)}`, { csrf, email, returnTo });
  }
}

/** The Set-Cookie line of a response for cookie `name`, or undefined. */
export function setCookieFor(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}
