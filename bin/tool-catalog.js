#!/usr/bin/env node
// `npx tool-catalog …`: runs the TypeScript CLI through tsx, like `npm start` runs the server.
import { tsImport } from 'tsx/esm/api';

await tsImport('../src/cli/index.ts', import.meta.url);
