/**
 * The create form of a machine client (MCP client credentials / enterprise-managed authorization): grant types,
 * how it authenticates (a secret shown once, or its public keys as a JWK Set or a JWKS URI) and its scopes. The
 * server applies the rules (server/oauth/machine-clients.ts); this form only shapes the input.
 */
import { useId, useState, type FormEvent } from "react";
import { Button } from "../ui/button";
import { TextAreaField, TextField } from "../ui/fields";
import type { ScopeOption } from "./client-form";

export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

export interface MachineClientValues {
  name: string;
  grantTypes: Array<"client_credentials" | typeof JWT_BEARER>;
  authMethod: "client_secret_basic" | "private_key_jwt";
  jwksUri?: string;
  jwks?: string;
  scopes: string[];
}

export function MachineClientForm({
  scopeOptions,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  scopeOptions: ScopeOption[];
  busy: boolean;
  error: string | null;
  onSubmit: (values: MachineClientValues) => void;
  onCancel: () => void;
}) {
  const [authMethod, setAuthMethod] = useState<MachineClientValues["authMethod"]>("client_secret_basic");
  const [keys, setKeys] = useState<"uri" | "set">("uri");
  const authName = useId();
  const keysName = useId();
  const errorId = useId();
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const jwt = authMethod === "private_key_jwt";
    onSubmit({
      name: String(form.get("name") ?? "").trim(),
      grantTypes: form.getAll("grantTypes").map(String) as MachineClientValues["grantTypes"],
      authMethod,
      jwksUri: jwt && keys === "uri" ? String(form.get("jwksUri") ?? "").trim() : undefined,
      jwks: jwt && keys === "set" ? String(form.get("jwks") ?? "").trim() : undefined,
      scopes: form.getAll("scopes").map(String),
    });
  }
  return (
    <form onSubmit={submit} className="space-y-4" aria-describedby={error ? errorId : undefined}>
      <TextField label="Name" name="name" required maxLength={200} autoComplete="off" placeholder="Nightly CI" />
      <fieldset>
        <legend className="block text-sm font-medium text-gray-700">Grant types</legend>
        <div className="mt-1 space-y-2">
          {(
            [
              ["client_credentials", "Client credentials", "An agent or job acting as itself, with no person present (OAuth 2.1 §4.2)."],
              [JWT_BEARER, "Enterprise (ID-JAG)", "Acts for a person whose trusted identity provider issued an ID-JAG for this client."],
            ] as const
          ).map(([value, label, hint]) => (
            <label key={value} className="flex items-start gap-2 text-sm">
              <input type="checkbox" name="grantTypes" value={value} defaultChecked={value === "client_credentials"} className="mt-1" />
              <span>
                <span className="font-medium text-gray-900">{label}</span>
                <span className="block text-gray-500">{hint}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend className="block text-sm font-medium text-gray-700">Authentication</legend>
        <div className="mt-1 space-y-2">
          {(
            [
              ["client_secret_basic", "Client secret", "A secret generated now and shown once (HTTP Basic)."],
              ["private_key_jwt", "Private key JWT", "The client signs a short-lived JWT with its own key (RFC 7523); give its public keys."],
            ] as const
          ).map(([value, label, hint]) => (
            <label key={value} className="flex items-start gap-2 text-sm">
              <input type="radio" name={authName} value={value} checked={authMethod === value} onChange={() => setAuthMethod(value)} className="mt-1" />
              <span>
                <span className="font-medium text-gray-900">{label}</span>
                <span className="block text-gray-500">{hint}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      {authMethod === "private_key_jwt" ? (
        <fieldset className="space-y-2">
          <legend className="block text-sm font-medium text-gray-700">Public keys</legend>
          <div className="flex gap-4 text-sm">
            <label className="flex items-center gap-2">
              <input type="radio" name={keysName} checked={keys === "uri"} onChange={() => setKeys("uri")} /> JWKS URI
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name={keysName} checked={keys === "set"} onChange={() => setKeys("set")} /> JWK Set
            </label>
          </div>
          {keys === "uri" ? (
            <TextField label="JWKS URI" name="jwksUri" type="url" required placeholder="https://agent.example.com/jwks.json" spellCheck={false} />
          ) : (
            <TextAreaField label="JWK Set" hint="(JSON, public keys only)" name="jwks" required rows={5} placeholder='{"keys":[{"kty":"EC","crv":"P-256","x":"…","y":"…","kid":"1"}]}' spellCheck={false} />
          )}
        </fieldset>
      ) : null}
      <fieldset>
        <legend className="block text-sm font-medium text-gray-700">Scopes</legend>
        <div className="mt-1 space-y-2">
          {scopeOptions.map((scope) => (
            <label key={scope.value} className="flex items-start gap-2 text-sm">
              <input type="checkbox" name="scopes" value={scope.value} defaultChecked={scope.value === "mcp:tools"} className="mt-1" />
              <span>
                <span className="font-mono text-gray-900">{scope.value}</span>
                <span className="block text-gray-500">
                  {scope.description}
                  {scope.adminOnly ? " (a machine client gets it only when you tick it here)" : ""}
                </span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      {error ? (
        <p id={errorId} role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      ) : null}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button type="submit" tone="primary" disabled={busy}>
          {busy ? "Saving…" : "Create machine client"}
        </Button>
      </div>
    </form>
  );
}
