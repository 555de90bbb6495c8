import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { ToolDefinition } from './definition.js';
import { fromStandardShape, standardToolFile } from './standardShape.js';

export class CatalogFileError extends Error {
  override name = 'CatalogFileError';
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

export interface LoadedTool {
  file: string;
  definition: ToolDefinition;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/i.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function describeZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** Reads one standard-shape tool file into a validated definition. */
export async function loadToolFile(file: string): Promise<ToolDefinition> {
  let document: unknown;
  try {
    document = parse(await readFile(file, 'utf8'), { maxAliasCount: 100 });
  } catch (error) {
    throw new CatalogFileError(file, (error as Error).message);
  }
  const parsed = standardToolFile.safeParse(document);
  if (!parsed.success) throw new CatalogFileError(file, describeZodError(parsed.error));
  try {
    return fromStandardShape(parsed.data);
  } catch (error) {
    if (error instanceof z.ZodError) throw new CatalogFileError(file, describeZodError(error));
    throw error;
  }
}

/** Every tool file under `dir`; any bad file fails the whole load. */
export async function loadCatalogDirectory(dir: string): Promise<LoadedTool[]> {
  const files = await yamlFiles(dir);
  const tools: LoadedTool[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const definition = await loadToolFile(file);
    const identity = `${definition.name}@${definition.platform}`;
    const earlier = seen.get(identity);
    if (earlier) throw new CatalogFileError(file, `tool ${identity} is also defined in ${earlier}`);
    seen.set(identity, file);
    tools.push({ file, definition });
  }
  return tools;
}
