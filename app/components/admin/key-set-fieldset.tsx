/**
 * Where a party's public signing keys are: a JWKS URI fetched when needed, or a JWK Set pasted in (public keys only).
 * Used for private_key_jwt clients (RFC 7523 §2.2) and trusted identity providers (their ID-JAG signatures).
 */
import { useId } from "react";
import { TextAreaField, TextField } from "../ui/fields";

export type KeySource = "uri" | "set";

export function KeySetFieldset({
  legend,
  source,
  onSourceChange,
  uriPlaceholder,
  setPlaceholder,
}: {
  legend: string;
  source: KeySource;
  onSourceChange: (source: KeySource) => void;
  uriPlaceholder: string;
  setPlaceholder?: string;
}) {
  const name = useId();
  return (
    <fieldset className="space-y-2">
      <legend className="block text-sm font-medium text-gray-700">{legend}</legend>
      <div className="flex gap-4 text-sm">
        <label className="flex items-center gap-2">
          <input type="radio" name={name} checked={source === "uri"} onChange={() => onSourceChange("uri")} /> JWKS URI
        </label>
        <label className="flex items-center gap-2">
          <input type="radio" name={name} checked={source === "set"} onChange={() => onSourceChange("set")} /> JWK Set
        </label>
      </div>
      {source === "uri" ? (
        <TextField label="JWKS URI" name="jwksUri" type="url" required placeholder={uriPlaceholder} spellCheck={false} />
      ) : (
        <TextAreaField label="JWK Set" hint="(JSON, public keys only)" name="jwks" required rows={5} placeholder={setPlaceholder} spellCheck={false} />
      )}
    </fieldset>
  );
}

/** The keys a submitted form gives: the field of `source`, trimmed; the other is undefined. */
export function readKeySet(form: FormData, source: KeySource): { jwksUri?: string; jwks?: string } {
  return {
    jwksUri: source === "uri" ? String(form.get("jwksUri") ?? "").trim() : undefined,
    jwks: source === "set" ? String(form.get("jwks") ?? "").trim() : undefined,
  };
}
