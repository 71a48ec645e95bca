/**
 * The create form of a machine client (MCP client credentials / enterprise-managed authorization): grant types,
 * how it authenticates (a secret shown once, or its public keys as a JWK Set or a JWKS URI) and its scopes. The
 * server applies the rules (server/oauth/machine-clients.ts); this form only shapes the input.
 */
import { useId, useState } from "react";
import { ChoiceFieldset } from "../ui/choice-fieldset";
import { TextField } from "../ui/fields";
import { FormFrame } from "../ui/form-frame";
import { KeySetFieldset, readKeySet, type KeySource } from "./key-set-fieldset";
import { readScopes, ScopeFieldset, type ScopeOption } from "./scope-fieldset";

export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

export interface MachineClientValues {
  name: string;
  grantTypes: Array<"client_credentials" | typeof JWT_BEARER>;
  authMethod: "client_secret_basic" | "private_key_jwt";
  jwksUri?: string;
  jwks?: string;
  scopes: string[];
}

const GRANT_TYPES = [
  { value: "client_credentials", label: "Client credentials", hint: "An agent or job acting as itself, with no person present (OAuth 2.1 §4.2)." },
  { value: JWT_BEARER, label: "Enterprise (ID-JAG)", hint: "Acts for a person whose trusted identity provider issued an ID-JAG for this client." },
] as const;

const AUTH_METHODS = [
  { value: "client_secret_basic", label: "Client secret", hint: "A secret generated now and shown once (HTTP Basic)." },
  { value: "private_key_jwt", label: "Private key JWT", hint: "The client signs a short-lived JWT with its own key (RFC 7523); give its public keys." },
] as const;

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
  const [keys, setKeys] = useState<KeySource>("uri");
  const authName = useId();
  function submit(form: FormData) {
    onSubmit({
      name: String(form.get("name") ?? "").trim(),
      grantTypes: form.getAll("grantTypes").map(String) as MachineClientValues["grantTypes"],
      authMethod,
      ...(authMethod === "private_key_jwt" ? readKeySet(form, keys) : { jwksUri: undefined, jwks: undefined }),
      scopes: readScopes(form),
    });
  }
  return (
    <FormFrame onSubmit={submit} busy={busy} error={error} submitLabel="Create machine client" onCancel={onCancel}>
      <TextField label="Name" name="name" required maxLength={200} autoComplete="off" placeholder="Nightly CI" />
      <ChoiceFieldset legend="Grant types" type="checkbox" name="grantTypes" choices={GRANT_TYPES} initial={(value) => value === "client_credentials"} />
      <ChoiceFieldset legend="Authentication" type="radio" name={authName} choices={AUTH_METHODS} selected={authMethod} onSelect={setAuthMethod} />
      {authMethod === "private_key_jwt" ? (
        <KeySetFieldset
          legend="Public keys"
          source={keys}
          onSourceChange={setKeys}
          uriPlaceholder="https://agent.example.com/jwks.json"
          setPlaceholder='{"keys":[{"kty":"EC","crv":"P-256","x":"…","y":"…","kid":"1"}]}'
        />
      ) : null}
      <ScopeFieldset options={scopeOptions} initial={["mcp:tools"]} adminOnlyNote=" (a machine client gets it only when you tick it here)" />
    </FormFrame>
  );
}
