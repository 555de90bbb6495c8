import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

// Prisma's schema engine, published as WebAssembly, so migrations need no native binary download.
// Its package entry imports the .wasm file as an ES module, which Node 20 cannot do, so the glue
// module is loaded directly and the wasm instantiated here.

type EngineGlue = typeof import('@prisma/schema-engine-wasm') & {
  __wbg_set_wasm(exports: WebAssembly.Exports): void;
};

let gluePromise: Promise<EngineGlue> | undefined;

async function loadGlue(): Promise<EngineGlue> {
  const glue = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as unknown as EngineGlue;
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
  const module = new WebAssembly.Module(await readFile(wasmPath));
  const instance = new WebAssembly.Instance(module, {
    './schema_engine_bg.js': glue as unknown as WebAssembly.ModuleImports,
  });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  const registry = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(msg: string): void } };
  registry.PRISMA_WASM_PANIC_REGISTRY ??= {
    set_message(message: string) {
      lastPanic = message;
    },
  };
  return glue;
}

let lastPanic: string | undefined;

export type EngineLog = (line: string) => void;

/** Starts a schema engine for one schema file over the given adapter. Call `free()` when done. */
export async function startSchemaEngine(
  schema: { path: string; content: string },
  adapter: SqlMigrationAwareDriverAdapterFactory,
  log: EngineLog = () => {},
): Promise<SchemaEngine> {
  gluePromise ??= loadGlue();
  const glue = await gluePromise;
  try {
    return await glue.SchemaEngine.new(
      { datamodels: [[schema.path, schema.content]] },
      log,
      bindMigrationAwareSqlAdapterFactory(adapter),
    );
  } catch (error) {
    throw withPanic(error);
  }
}

/** Engine panics surface as a bare "unreachable"; attach the message the engine recorded. */
export function withPanic(error: unknown): Error {
  const err = error instanceof Error ? error : new Error(String(error));
  if (lastPanic) {
    err.message = `${err.message} (schema engine: ${lastPanic})`;
    lastPanic = undefined;
  }
  return err;
}
