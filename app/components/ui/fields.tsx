/** Labelled form controls for filter bars and forms (native elements: keyboard and screen-reader friendly). */
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

const control =
  "mt-1 block w-full rounded-md border border-gray-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500";

function Label({ htmlFor, children, hint }: { htmlFor: string; children: ReactNode; hint?: ReactNode }) {
  return (
    <label htmlFor={htmlFor} className="block text-sm font-medium text-gray-700">
      {children}
      {hint ? <span className="ml-1 font-normal text-gray-500">{hint}</span> : null}
    </label>
  );
}

/** A label above its control; the control gets the caller's `id`, or a generated one. */
function Field({ label, hint, id, children }: { label: string; hint?: ReactNode; id?: string; children: (id: string) => ReactNode }) {
  const generated = useId();
  const controlId = id ?? generated;
  return (
    <div>
      <Label htmlFor={controlId} hint={hint}>
        {label}
      </Label>
      {children(controlId)}
    </div>
  );
}

export function TextField({ label, hint, ...props }: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: ReactNode }) {
  return (
    <Field label={label} hint={hint} id={props.id}>
      {(id) => <input id={id} className={control} {...props} />}
    </Field>
  );
}

export function TextAreaField({ label, hint, ...props }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string; hint?: ReactNode }) {
  return (
    <Field label={label} hint={hint} id={props.id}>
      {(id) => <textarea id={id} className={`${control} font-mono`} {...props} />}
    </Field>
  );
}

export function SelectField({
  label,
  options,
  ...props
}: SelectHTMLAttributes<HTMLSelectElement> & { label: string; options: Array<{ value: string; label: string }> }) {
  return (
    <Field label={label} id={props.id}>
      {(id) => (
        <select id={id} className={control} {...props}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
