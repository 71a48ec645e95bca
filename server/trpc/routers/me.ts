/** `me`: the signed-in person (any role) — who they are, and the apps they connected. */
import { protectedProcedure, router } from "../init.ts";

export const meRouter = router({
  profile: protectedProcedure.query(({ ctx }) => {
    const { id, email, name, image, role } = ctx.user;
    return { id, email, name, image, role };
  }),
});
