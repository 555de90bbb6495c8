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

/**
 * Runs `fn` with a schema engine for one schema file over the given adapter, then frees the engine
 * and disposes every connection it opened. The engine holds PostgreSQL's migration advisory lock on
 * its connection; a pool left open would make the next engine wait for that lock.
 */
export async function withSchemaEngine<T>(
  schema: { path: string; content: string },
  adapter: SqlMigrationAwareDriverAdapterFactory,
  fn: (engine: SchemaEngine) => Promise<T>,
  log: EngineLog = () => {},
): Promise<T> {
  gluePromise ??= loadGlue();
  const glue = await gluePromise;
  const opened: Array<{ dispose(): Promise<void> }> = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    adapterName: adapter.adapterName,
    provider: adapter.provider,
    connect: async () => {
      const connection = await adapter.connect();
      opened.push(connection);
      return connection;
    },
    connectToShadowDb: async () => {
      const connection = await adapter.connectToShadowDb();
      opened.push(connection);
      return connection;
    },
  };
  let engine: SchemaEngine | undefined;
  try {
    engine = await glue.SchemaEngine.new(
      { datamodels: [[schema.path, schema.content]] },
      log,
      bindMigrationAwareSqlAdapterFactory(tracked),
    );
    return await fn(engine);
  } catch (error) {
    throw withPanic(error);
  } finally {
    engine?.free();
    // The engine may already have disposed some (shadow databases); a second dispose is harmless.
    await Promise.all(opened.map((connection) => connection.dispose().catch(() => {})));
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
