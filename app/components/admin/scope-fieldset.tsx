/** The scopes a client may be given, as checkboxes named `scopes` (the client forms'). */
import { ChoiceFieldset } from "../ui/choice-fieldset";

export interface ScopeOption {
  value: string;
  description: string;
  adminOnly: boolean;
}

export function ScopeFieldset({ options, initial, adminOnlyNote }: { options: ScopeOption[]; initial: string[]; /** Said after an admin-only scope's description. */ adminOnlyNote: string }) {
  return (
    <ChoiceFieldset
      legend="Scopes"
      type="checkbox"
      name="scopes"
      code
      initial={(value) => initial.includes(value)}
      choices={options.map((scope) => ({
        value: scope.value,
        label: scope.value,
        hint: (
          <>
            {scope.description}
            {scope.adminOnly ? adminOnlyNote : ""}
          </>
        ),
      }))}
    />
  );
}

/** The scopes of a submitted client form. */
export function readScopes(form: FormData): string[] {
  return form.getAll("scopes").map(String);
}
