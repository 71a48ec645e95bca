/**
 * The browser's tRPC client (React Query integration). Pages read through their Remix loaders (server-side
 * `createCaller`); they change things through these mutations, which POST to /api/trpc (same origin, so the
 * server's cross-site check passes) and then revalidate the loaders.
 */
import { QueryClient, QueryClientProvider, useMutation, type UseMutationOptions } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useRevalidator } from "@remix-run/react";
import { useState, type ReactNode } from "react";
import type { AppRouter } from "../../server/trpc/root";
import { useToast } from "../components/ui/toast";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

export function ApiProvider({ children }: { children: ReactNode }) {
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: false }, mutations: { retry: false } } }),
  );
  const [trpcClient] = useState(() => createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: "/api/trpc" })] }));
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}

/** A readable sentence for a failed call: the first zod issue for bad input, else the server's message. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const issues = (error.data as { zodIssues?: Array<{ path: PropertyKey[]; message: string }> | null } | undefined)?.zodIssues;
    if (issues?.length) {
      const [first] = issues;
      return first.path.length ? `${first.path.join(".")}: ${first.message}` : first.message;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : "Something went wrong.";
}

/**
 * A mutation that reports its outcome in a toast and reloads the page's data when it succeeds.
 * `options` comes from `useTRPC().<router>.<procedure>.mutationOptions()`.
 */
export function useActionMutation<TData, TError, TVariables, TContext>(
  options: UseMutationOptions<TData, TError, TVariables, TContext>,
  messages: { success: string | ((data: TData, variables: TVariables) => string); revalidate?: boolean },
) {
  const toast = useToast();
  const revalidator = useRevalidator();
  return useMutation({
    ...options,
    onSuccess(...args) {
      const [data, variables] = args;
      toast.show({ tone: "success", message: typeof messages.success === "function" ? messages.success(data, variables) : messages.success });
      if (messages.revalidate !== false) revalidator.revalidate();
      return options.onSuccess?.(...args);
    },
    onError(...args) {
      toast.show({ tone: "error", message: errorMessage(args[0]) });
      return options.onError?.(...args);
    },
  });
}
