import type { Prisma } from '../generated/prisma/client.js';

/** What readers see by default: the latest version of each tool that is not soft-deleted. */
export const latestVisible = { isLatest: true, deletedAt: null } satisfies Prisma.ToolWhereInput;
