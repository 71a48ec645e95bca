/**
 * Reading list filters from the URL leniently: a value that is not allowed is dropped (the page shows everything)
 * rather than failing the page. The API validates again.
 */
export function pageParams(params: URLSearchParams): { cursor?: string; direction: "forward" | "backward" } {
  const cursor = params.get("cursor")?.slice(0, 100) || undefined;
  return { cursor, direction: cursor && params.get("direction") === "backward" ? "backward" : "forward" };
}

export function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return allowed.find((a) => a === value);
}

export function text(value: string | null, max = 200): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed.slice(0, max) : undefined;
}
