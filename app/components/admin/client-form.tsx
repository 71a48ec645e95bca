/**
 * The create/edit form of an OAuth client, and the one-time display of a client secret. The server applies the
 * registration rules (redirect URIs, scopes); this form only shapes the input.
 */
import { useId, useState } from "react";
import { Button } from "../ui/button";
import { ChoiceFieldset } from "../ui/choice-fieldset";
import { TextAreaField, TextField } from "../ui/fields";
import { FormFrame } from "../ui/form-frame";
import { Modal } from "../ui/modal";
import { readScopes, ScopeFieldset, type ScopeOption } from "./scope-fieldset";

export interface ClientFormValues {
  name: string;
  type: "confidential" | "public";
  redirectUris: string[];
  scopes: string[];
}

const CLIENT_TYPES = [
  { value: "confidential", label: "Confidential", hint: "Runs on a server and keeps a secret (client_secret_basic)." },
  { value: "public", label: "Public", hint: "Runs on a device or in a browser; no secret, PKCE only." },
] as const;

export function ClientForm({
  mode,
  initial,
  scopeOptions,
  busy,
  error,
  onSubmit,
  onCancel,
  machine = false,
}: {
  mode: "create" | "edit";
  /** A machine client (client_credentials / ID-JAG): it has no redirect URIs to edit. */
  machine?: boolean;
  initial?: Partial<ClientFormValues>;
  scopeOptions: ScopeOption[];
  busy: boolean;
  error: string | null;
  onSubmit: (values: ClientFormValues) => void;
  onCancel?: () => void;
}) {
  const [type, setType] = useState<ClientFormValues["type"]>(initial?.type ?? "confidential");
  const typeName = useId();
  function submit(form: FormData) {
    onSubmit({
      name: String(form.get("name") ?? "").trim(),
      type,
      redirectUris: String(form.get("redirectUris") ?? "")
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean),
      scopes: readScopes(form),
    });
  }
  return (
    <FormFrame onSubmit={submit} busy={busy} error={error} submitLabel={mode === "create" ? "Create client" : "Save changes"} onCancel={onCancel}>
      <TextField label="Name" name="name" required maxLength={200} defaultValue={initial?.name ?? ""} autoComplete="off" />
      {mode === "create" ? <ChoiceFieldset legend="Client type" type="radio" name={typeName} choices={CLIENT_TYPES} selected={type} onSelect={setType} /> : null}
      {machine ? null : <TextAreaField
        label="Redirect URIs"
        hint="(one per line)"
        name="redirectUris"
        required
        rows={3}
        defaultValue={(initial?.redirectUris ?? []).join("\n")}
        placeholder="https://app.example.com/oauth/callback"
        spellCheck={false}
      />}
      <ScopeFieldset options={scopeOptions} initial={initial?.scopes ?? ["mcp:tools"]} adminOnlyNote=" (granted to admins only)" />
    </FormFrame>
  );
}

/** Shows a client_id and, once, its secret. Closing it forgets the secret. */
export function SecretModal({
  open,
  title,
  clientId,
  secret,
  onClose,
  children,
  noSecret = "A public client has no secret: it proves itself with PKCE on every authorization.",
}: {
  open: boolean;
  title: string;
  clientId: string;
  secret: string | null;
  onClose: () => void;
  children?: React.ReactNode;
  /** What to say when there is no secret. */
  noSecret?: string;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <Modal open={open} title={title} onClose={onClose} wide>
      <div className="space-y-4 text-sm">
        <CopyField label="Client ID" value={clientId} />
        {secret ? (
          <>
            <CopyField label="Client secret" value={secret} onCopied={() => setCopied(true)} />
            <p className="rounded-md bg-amber-50 px-3 py-2 text-amber-900">
              Store the secret now: it is shown only this once. The server keeps only a hash of it.
              {copied ? " Copied to the clipboard." : ""}
            </p>
          </>
        ) : (
          <p className="text-gray-600">{noSecret}</p>
        )}
        {children}
        <div className="flex justify-end">
          <Button tone="primary" onClick={onClose}>
            Done
          </Button>
        </div>
      </div>
    </Modal>
  );
}

function CopyField({ label, value, onCopied }: { label: string; value: string; onCopied?: () => void }) {
  const id = useId();
  return (
    <div>
      <label htmlFor={id} className="block font-medium text-gray-700">
        {label}
      </label>
      <div className="mt-1 flex gap-2">
        <input id={id} readOnly value={value} className="block w-full min-w-0 rounded-md border border-gray-300 bg-gray-50 px-3 py-2 font-mono text-xs" onFocus={(e) => e.currentTarget.select()} />
        <Button
          size="sm"
          aria-label={`Copy ${label.toLowerCase()}`}
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => onCopied?.(), () => {});
          }}
        >
          Copy
        </Button>
      </div>
    </div>
  );
}
