import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { SAMPLE_CATALOG_DIR } from './service.js';

/** The sample catalog as the files state it, read independently of the service's loader. */
export interface SampleTool {
  file: string;
  name: string;
  platform: string;
  version: string;
  category: string;
  tags: string[];
  capabilities: Record<string, { patterns: Record<string, Record<string, unknown>> }>;
}

export function readSampleCatalog(dir = SAMPLE_CATALOG_DIR): SampleTool[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  return files.map((file) => {
    const doc = parse(readFileSync(path.join(dir, file), 'utf8'));
    return {
      file,
      name: doc.tool_name,
      platform: doc.platform,
      version: String(doc.version),
      category: doc.category,
      tags: doc.metadata?.tags ?? [],
      capabilities: doc.capabilities,
    };
  });
}
