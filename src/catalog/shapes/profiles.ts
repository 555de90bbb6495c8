import type { SourcePath } from '../diagnostics.js';
import { isMap, type Json } from './reader.js';

/**
 * The legacy optimization-profiles file (tool_optimization_profiles.yaml): `{version, tools: {<name>:
 * {description, defaults, capabilities}}}`, many tools in one document and none with a platform or a
 * category. Each tool becomes a document of the standard shape, read by the same normaliser.
 */

/** The platform profiles' tools get unless the importer is told another (`--platform`). */
export const DEFAULT_PROFILES_PLATFORM = 'custom';
/** Profiles carry no category; this one is given, with a warning. */
export const DEFAULT_PROFILES_CATEGORY = 'general';

export function isProfilesDocument(value: unknown): value is Json & { tools: Json } {
  return isMap(value) && isMap(value.tools) && !('tool_name' in value) && !('name' in value) && !('schema' in value) && !('tool' in value);
}

export interface ProfileTool {
  name: string;
  /** Where the tool's map sits in the file. */
  path: SourcePath;
  /** The tool as a standard-shape document. */
  document: Json;
  /** Fields the profiles file did not give and that were filled in. */
  filled: Array<'platform' | 'category'>;
}

export function expandProfiles(value: Json & { tools: Json }, platform: string | undefined): ProfileTool[] {
  const version = value.version === undefined || value.version === null ? '1.0' : String(value.version);
  return Object.entries(value.tools).map(([name, body]) => {
    const tool = isMap(body) ? body : {};
    const filled: ProfileTool['filled'] = [];
    if (tool.platform === undefined) filled.push('platform');
    if (tool.category === undefined) filled.push('category');
    return {
      name,
      path: ['tools', name],
      filled,
      document: {
        ...tool,
        tool_name: name,
        version: tool.version ?? version,
        platform: tool.platform ?? platform ?? DEFAULT_PROFILES_PLATFORM,
        category: tool.category ?? DEFAULT_PROFILES_CATEGORY,
      },
    };
  });
}
