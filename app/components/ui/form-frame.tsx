/**
 * The frame of a dialog or page form: its fields, then the server's refusal (an alert the form is described by), then
 * Cancel and the submit button, which reads "Saving…" while the request is under way.
 */
import { useId, type FormEvent, type ReactNode } from "react";
import { Button } from "./button";

export function FormFrame({
  onSubmit,
  busy,
  error,
  submitLabel,
  onCancel,
  children,
}: {
  onSubmit: (form: FormData) => void;
  busy: boolean;
  error: string | null;
  submitLabel: string;
  /** Without it there is no Cancel button. */
  onCancel?: () => void;
  children: ReactNode;
}) {
  const errorId = useId();
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onSubmit(new FormData(event.currentTarget));
  }
  return (
    <form onSubmit={submit} className="space-y-4" aria-describedby={error ? errorId : undefined}>
      {children}
      {error ? (
        <p id={errorId} role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      ) : null}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        {onCancel ? (
          <Button onClick={onCancel} disabled={busy}>
            Cancel
          </Button>
        ) : null}
        <Button type="submit" tone="primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </Button>
      </div>
    </form>
  );
}
