import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";

/** /api/trpc/*: the admin and account API (server/trpc; queries by GET, mutations by POST). */
export const loader = ({ request, context }: LoaderFunctionArgs | ActionFunctionArgs) => context.services.trpc.handle(request, context.meta);
export const action = loader;
