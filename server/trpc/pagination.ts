/** The list input every paginated procedure takes; the paging itself is server/db/pagination.ts. */
import { z } from "zod";
import type { PageInput } from "../db/pagination.ts";

export const pageInput = z.object({
  cursor: z.string().min(1).max(100).optional(),
  direction: z.enum(["forward", "backward"]).default("forward"),
  limit: z.number().int().min(1).max(100).default(25),
}) satisfies z.ZodType<PageInput>;
