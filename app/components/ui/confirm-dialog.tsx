/**
 * A confirmation step for destructive actions, on the native modal <dialog>: the browser traps focus inside it,
 * Escape cancels, and focus returns to the opening button when it closes. Focus starts on "Cancel", so a stray
 * Enter never destroys anything.
 */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { Button, type ButtonTone } from "./button";

export interface ConfirmButtonProps {
  /** The button that opens the dialog. */
  label: ReactNode;
  /** Accessible name of the opening button when `label` is not text enough (e.g. "Revoke grant for Acme"). */
  ariaLabel?: string;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  tone?: ButtonTone;
  size?: "sm" | "md";
  disabled?: boolean;
  /** Runs on confirm; the dialog stays open (buttons disabled) until it settles. */
  onConfirm: () => Promise<unknown> | void;
}

export function ConfirmButton({
  label,
  ariaLabel,
  title,
  description,
  confirmLabel,
  tone = "danger",
  size = "sm",
  disabled,
  onConfirm,
}: ConfirmButtonProps) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);

  async function confirm() {
    setBusy(true);
    try {
      await onConfirm();
    } catch {
      /* the action reports its own failure (toast) */
    } finally {
      setBusy(false);
      setOpen(false);
      opener.current?.focus();
    }
  }

  return (
    <>
      <Button ref={opener} tone={tone === "danger" ? "secondary" : tone} size={size} disabled={disabled} aria-label={ariaLabel} aria-haspopup="dialog" onClick={() => setOpen(true)}>
        {label}
      </Button>
      <dialog
        ref={dialog}
        aria-labelledby={titleId}
        aria-describedby={descriptionId}
        onClose={() => setOpen(false)}
        onCancel={(event) => {
          if (busy) event.preventDefault();
        }}
        className="w-[calc(100%-2rem)] max-w-md rounded-xl border border-gray-200 bg-white p-0 text-gray-900 shadow-xl backdrop:bg-gray-900/40"
      >
        {open ? (
          <div className="p-6">
            <h2 id={titleId} className="text-lg font-semibold">
              {title}
            </h2>
            <div id={descriptionId} className="mt-2 text-sm text-gray-600">
              {description}
            </div>
            <div className="mt-6 flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
              {/* First in document order, so showModal() focuses it. */}
              <Button disabled={busy} onClick={() => setOpen(false)}>
                Cancel
              </Button>
              <Button tone={tone} disabled={busy} onClick={confirm}>
                {busy ? "Working…" : confirmLabel}
              </Button>
            </div>
          </div>
        ) : null}
      </dialog>
    </>
  );
}
