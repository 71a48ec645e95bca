/**
 * Toasts: short results of actions ("Secret rotated", "Could not revoke: …"), announced to screen readers through
 * a polite live region (errors assertively), dismissible, gone after a few seconds.
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";

export interface Toast {
  id: number;
  tone: "success" | "error" | "info";
  message: string;
}

interface ToastApi {
  show(toast: Omit<Toast, "id">): void;
}

const ToastContext = createContext<ToastApi>({ show: () => {} });

export function useToast(): ToastApi {
  return useContext(ToastContext);
}

const TONE: Record<Toast["tone"], string> = {
  success: "border-emerald-200 bg-emerald-50 text-emerald-900",
  error: "border-red-200 bg-red-50 text-red-900",
  info: "border-blue-200 bg-blue-50 text-blue-900",
};

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), []);
  const api = useMemo<ToastApi>(
    () => ({
      show(toast) {
        const id = nextId.current++;
        setToasts((list) => [...list.slice(-3), { ...toast, id }]);
        setTimeout(() => dismiss(id), toast.tone === "error" ? 10_000 : 5_000);
      },
    }),
    [dismiss],
  );
  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="pointer-events-none fixed inset-x-0 bottom-0 z-50 flex flex-col items-center gap-2 p-4 sm:items-end">
        <div aria-live="polite" role="status" className="flex w-full flex-col items-center gap-2 sm:items-end">
          {toasts.filter((t) => t.tone !== "error").map((t) => <ToastItem key={t.id} toast={t} onDismiss={dismiss} />)}
        </div>
        <div aria-live="assertive" role="alert" className="flex w-full flex-col items-center gap-2 sm:items-end">
          {toasts.filter((t) => t.tone === "error").map((t) => <ToastItem key={t.id} toast={t} onDismiss={dismiss} />)}
        </div>
      </div>
    </ToastContext.Provider>
  );
}

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (id: number) => void }) {
  return (
    <div
      data-testid="toast"
      data-tone={toast.tone}
      className={`pointer-events-auto flex w-full max-w-sm items-start gap-3 rounded-lg border px-4 py-3 text-sm shadow-md ${TONE[toast.tone]}`}
    >
      <p className="flex-1 break-words">{toast.message}</p>
      <button
        type="button"
        onClick={() => onDismiss(toast.id)}
        className="rounded px-1 text-current opacity-70 hover:opacity-100 focus:outline-none focus:ring-2 focus:ring-blue-500"
        aria-label="Dismiss notification"
      >
        ×
      </button>
    </div>
  );
}
