import { ToolStatus } from '../generated/prisma/enums.js';
import { builder } from './builder.js';

export const ToolStatusEnum = builder.enumType(ToolStatus, {
  name: 'ToolStatus',
  description: 'Lifecycle of a tool version.',
});
