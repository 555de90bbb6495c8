// Runs `prisma generate` on machines that cannot download Prisma's native schema engine.
// `generate` never runs that engine, but the CLI insists on locating it first; pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download. Where a real engine
// was installed (a machine with internet access), it is left alone.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const enginesDir = fileURLToPath(new URL('../node_modules/@prisma/engines/', import.meta.url));
let hasNativeEngine = false;
try {
  hasNativeEngine = readdirSync(enginesDir).some((f) => f.startsWith('schema-engine'));
} catch {
  // @prisma/engines not installed: the placeholder below is all generate needs.
}
const env = { ...process.env };
if (!hasNativeEngine && !env.PRISMA_SCHEMA_ENGINE_BINARY) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(import.meta.url);
}
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
