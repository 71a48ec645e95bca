/**
 * A fieldset of labelled choices, each a native radio button or checkbox with a one-line hint below its label (so
 * the legend names the group for screen readers and every choice is clickable by its text).
 */
import type { ReactNode } from "react";

export interface Choice<V extends string> {
  value: V;
  label: ReactNode;
  hint: ReactNode;
}

type Selection<V extends string> =
  /** One of them, held by the caller. */
  | { type: "radio"; name: string; selected: V; onSelect: (value: V) => void }
  /** Any of them, left to the form; `initial` says which start ticked. */
  | { type: "checkbox"; name: string; initial: (value: V) => boolean };

export function ChoiceFieldset<V extends string>({
  legend,
  choices,
  code = false,
  ...selection
}: Selection<V> & {
  legend: string;
  choices: ReadonlyArray<Choice<V>>;
  /** Labels that are identifiers (scope names): set in monospace. */
  code?: boolean;
}) {
  return (
    <fieldset>
      <legend className="block text-sm font-medium text-gray-700">{legend}</legend>
      <div className="mt-1 space-y-2">
        {choices.map(({ value, label, hint }) => (
          <label key={value} className="flex items-start gap-2 text-sm">
            {selection.type === "radio" ? (
              <input type="radio" name={selection.name} value={value} checked={selection.selected === value} onChange={() => selection.onSelect(value)} className="mt-1" />
            ) : (
              <input type="checkbox" name={selection.name} value={value} defaultChecked={selection.initial(value)} className="mt-1" />
            )}
            <span>
              <span className={code ? "font-mono text-gray-900" : "font-medium text-gray-900"}>{label}</span>
              <span className="block text-gray-500">{hint}</span>
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
