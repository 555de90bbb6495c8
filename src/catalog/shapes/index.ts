
import { toolDefinition, type CapabilityDefinition, type ToolDefinition } from '../definition.js';
import type { FileReport, SourcePath } from '../diagnostics.js';
import { KNOWN_PLATFORMS } from '../vocabulary.js';
import { describeValue } from '../yamlSource.js';
import { PATTERN_SOURCE_KEYS, readCapabilities, readPattern, sourcePaths } from './capabilities.js';
import { reportUnknownKeys } from './checks.js';
import { isMap, MapReader, type Json } from './reader.js';

/** Marks files written by `export`; any other file is read as one of the legacy shapes. */
export const CANONICAL_SCHEMA = 'tool-catalog/v1';

export type ShapeName = 'canonical' | 'standard' | 'capability-list' | 'windows-wrapper' | 'stub' | 'metadata-identity';

export interface NormaliseContext {
  /** Platform implied by the file's directory (`linux/grep.yaml`), for files that name none. */
  directoryPlatform?: string;
}

export interface Normalised {
  shape?: ShapeName;
  definition?: ToolDefinition;
  /** `breaking: true` in the document: its author acknowledges breaking changes against the latest version. */
  breaking?: boolean;
  /** Whether the document names a successor (absent: a new version keeps the previous one's). */
  successorGiven?: boolean;
}

/** Top-level keys of the canonical, standard and stub shapes; any other goes to metadata with a warning. */
export const TOOL_KEYS = [
  'schema', 'name', 'tool_name', 'version', 'description', 'platform', 'category', 'status', 'enabled', 'successor', 'breaking',
  'execution_location', 'tags', 'defaults', 'dependencies', 'metadata', 'examples', 'capabilities',
];
/** Keys of the Windows `tool:` wrapper. */
const WRAPPER_KEYS = ['name', 'version', 'description', 'platform', 'category', 'capability', 'pattern', 'inputs', 'policy', 'tags', 'metadata'];

const STATUS = { draft: 'DRAFT', active: 'ACTIVE', deprecated: 'DEPRECATED', disabled: 'DISABLED' } as const;

function detect(value: Json): ShapeName | undefined {
  if (value.schema === CANONICAL_SCHEMA) return 'canonical';
  if ('tool_name' in value) return Array.isArray(value.capabilities) ? 'capability-list' : 'standard';
  if (isMap(value.tool) && !('name' in value)) return 'windows-wrapper';
  if ('name' in value) return 'stub';
  if (isMap(value.metadata) && 'name' in value.metadata) return 'metadata-identity';
  return undefined;
}

interface Identity {
  name?: string;
  version?: string;
  description?: string;
  platform?: string;
  category?: string;
  /** Where each identity field sits in the source (they move between shapes). */
  at: Record<'name' | 'version' | 'description' | 'platform' | 'category', SourcePath>;
}

function identityPaths(prefix: SourcePath, nameKey: string): Identity['at'] {
  return {
    name: [...prefix, nameKey],
    version: [...prefix, 'version'],
    description: [...prefix, 'description'],
    platform: [...prefix, 'platform'],
    category: [...prefix, 'category'],
  };
}

/** The identity fields of a tool, read from the map that holds them in this shape. */
function readIdentity(reader: MapReader, nameKey: string): Identity {
  return {
    at: identityPaths(reader.path, nameKey),
    name: reader.string(nameKey, { required: true }),
    version: reader.string('version'),
    description: reader.string('description'),
    platform: reader.string('platform'),
    category: reader.string('category'),
  };
}

/** Top-level fields that the tool_name, stub and canonical shapes share. */
function readToolFields(top: MapReader) {
  return {
    successor: top.string('successor'),
    breaking: top.boolean('breaking'),
    status: top.string('status'),
    enabled: top.boolean('enabled'),
    executionLocation: top.string('execution_location'),
    defaults: top.map('defaults'),
    dependencies: top.list('dependencies'),
    examples: top.list('examples'),
  };
}

const TOOL_SOURCE_KEYS: Record<string, string> = { executionLocation: 'execution_location' };

/** A path in the normalised definition as the path of the same value in the source document. */
function sourcePathOf(issuePath: ReadonlyArray<PropertyKey>, identity: Identity, capabilities: CapabilityDefinition[]): SourcePath {
  const [head, capIndex, patternsKey, patternIndex, field] = issuePath.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (head === 'capabilities' && typeof capIndex === 'number') {
    const capability = capabilities[capIndex];
    const capPath = capability ? sourcePaths.get(capability) : undefined;
    if (capPath && patternsKey === 'patterns' && typeof patternIndex === 'number') {
      const pattern = capability!.patterns[patternIndex];
      const patternPath = pattern ? sourcePaths.get(pattern) : undefined;
      if (patternPath) return field === undefined || field === 'name' ? patternPath : [...patternPath, PATTERN_SOURCE_KEYS[String(field)] ?? String(field)];
    }
    if (capPath) return patternsKey === undefined || patternsKey === 'name' ? capPath : [...capPath, String(patternsKey)];
  }
  if (typeof head === 'string' && head in identity.at) return identity.at[head as keyof Identity['at']];
  return issuePath.map((p) => (typeof p === 'number' ? p : TOOL_SOURCE_KEYS[String(p)] ?? String(p)));
}

/** Fields every shape shares once its identity has been located. */
function finish(
  report: FileReport,
  context: NormaliseContext,
  identity: Identity,
  reader: MapReader,
  parts: {
    capabilities: CapabilityDefinition[];
    tags: string[];
    metadata: Json;
    status?: string;
    successor?: string;
    breaking?: boolean;
    enabled?: boolean;
    executionLocation?: string;
    defaults?: Json;
    dependencies?: unknown[];
    examples?: unknown[];
    /** Keys `reader` may hold; others are reported and kept in metadata. */
    knownKeys?: readonly string[];
  },
): ToolDefinition | undefined {
  reportUnknownKeys(reader, parts.knownKeys ?? TOOL_KEYS);
  const reported = (path: SourcePath) => report.diagnostics.some((d) => d.field === path.join('.'));
  // A field reported already, or inside one (a wrong type, a bad policy value), is not reported again by the model.
  const reportedWithin = (path: SourcePath) => {
    const dotted = path.join('.');
    return report.diagnostics.some((d) => d.severity === 'error' && d.field !== undefined && (d.field === dotted || d.field.startsWith(`${dotted}.`) || dotted.startsWith(`${d.field}.`)));
  };
  let platform = identity.platform;
  if (platform !== undefined && !platform.trim()) {
    // Spaces are no platform: refused here as on every other path, never stored as "".
  } else if (!platform) {
    if (context.directoryPlatform) {
      platform = context.directoryPlatform;
      report.warn(identity.at.platform, `no platform given; using ${JSON.stringify(platform)} from the file's directory`);
    } else if (!reported(identity.at.platform)) {
      report.error(identity.at.platform, 'required field is missing');
    }
  } else if (!KNOWN_PLATFORMS.has(platform.trim().toLowerCase())) {
    report.warn(identity.at.platform, `unknown platform ${JSON.stringify(platform)}; kept as written`);
  }
  let status: ToolDefinition['status'] | undefined;
  if (parts.status !== undefined) {
    status = STATUS[parts.status.toLowerCase() as keyof typeof STATUS];
    if (!status) report.error(['status'], `expected one of ${Object.keys(STATUS).join(', ')}, found ${JSON.stringify(parts.status)}`);
  }
  // A field already reported (say, of the wrong type) is not also reported as missing.
  if (!identity.name && !reported(identity.at.name)) report.error(identity.at.name, 'the tool has no name');
  if (!identity.version && !reported(identity.at.version)) report.error(identity.at.version, 'required field is missing');
  if (!identity.category && !reported(identity.at.category)) report.error(identity.at.category, 'required field is missing');
  const parsed = toolDefinition.safeParse({
    name: identity.name,
    platform,
    version: identity.version,
    description: identity.description ?? '',
    category: identity.category,
    status,
    successor: parts.successor ?? null,
    enabled: parts.enabled,
    executionLocation: parts.executionLocation ?? null,
    defaults: parts.defaults ?? {},
    dependencies: parts.dependencies ?? [],
    metadata: { ...parts.metadata, ...reader.rest() },
    examples: parts.examples ?? [],
    tags: [...new Set(parts.tags)],
    capabilities: parts.capabilities,
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = sourcePathOf(issue.path, identity, parts.capabilities);
      if (!reportedWithin(path)) report.error(path, issue.message);
    }
  }
  if (!parsed.success || report.hasErrors) return undefined;
  return parsed.data;
}

/**
 * Tags a legacy file keeps under `metadata.tags`. The value stays in metadata as written either way,
 * so what cannot be a tag is a warning (not used as a tag), never dropped without a word.
 */
function tagsFromMetadata(value: unknown, path: SourcePath, report: FileReport): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    report.warn(path, `expected a list of text, found ${describeValue(value)}; not used as tags (kept in metadata)`);
    return [];
  }
  const tags: string[] = [];
  value.forEach((item, index) => {
    if (typeof item === 'string') tags.push(item);
    else if (typeof item === 'number' || typeof item === 'boolean') tags.push(String(item));
    else report.warn([...path, index], `expected text, found ${describeValue(item)}; not used as a tag (kept in metadata)`);
  });
  return tags;
}

/** Turns one parsed YAML document, whatever its shape, into a validated tool definition. */
export function normaliseDocument(value: unknown, report: FileReport, context: NormaliseContext = {}): Normalised {
  if (!isMap(value)) {
    report.error(undefined, `expected a map describing one tool, found ${describeValue(value)}`);
    return {};
  }
  const shape = detect(value);
  if (!shape) {
    report.error(undefined, 'unrecognised file: expected `tool_name`, `name`, a `tool:` map, `metadata.name`, or `schema: tool-catalog/v1`');
    return {};
  }
  const top = new MapReader(value, [], report);
  switch (shape) {
    case 'canonical':
    case 'standard':
    case 'capability-list': {
      top.consume('schema');
      const nameKey = shape === 'canonical' ? 'name' : 'tool_name';
      const identity = readIdentity(top, nameKey);
      const metadata = top.map('metadata') ?? {};
      // Legacy files keep tags under metadata; a top-level `tags` list is read in every shape.
      const tags = [...(top.stringList('tags') ?? []), ...(shape === 'canonical' ? [] : tagsFromMetadata(metadata.tags, ['metadata', 'tags'], report))];
      top.consume('capabilities');
      const fields = readToolFields(top);
      return {
        shape,
        breaking: fields.breaking,
        successorGiven: fields.successor !== undefined,
        definition: finish(report, context, identity, top, {
          capabilities: readCapabilities(value.capabilities, ['capabilities'], report),
          tags,
          metadata,
          ...fields,
        }),
      };
    }
    case 'windows-wrapper': {
      const tool = top.child('tool')!;
      const identity = readIdentity(tool, 'name');
      // One capability with one pattern; the pattern carries the wrapper's inputs and policy.
      const capability = tool.child('capability');
      const pattern = tool.child('pattern');
      const inputs = tool.list('inputs') ?? [];
      const capabilities: CapabilityDefinition[] = [];
      if (capability) {
        const capabilityName = capability.string('name', { required: true }) ?? '';
        const patterns = [];
        if (pattern) {
          const patternName = pattern.string('name', { required: true }) ?? '';
          const normalised = readPattern(patternName, pattern);
          normalised.requiredInputs = inputs.filter((i) => !isMap(i) || i.required !== false);
          normalised.optionalInputs = inputs.filter((i) => isMap(i) && i.required === false);
          normalised.policy = tool.map('policy') ?? {};
          patterns.push(normalised);
        }
        capabilities.push({
          name: capabilityName,
          description: capability.string('description') ?? '',
          metadata: capability.rest(),
          patterns,
        });
      }
      const wrapperTags = tool.stringList('tags') ?? [];
      tool.consume('policy', 'inputs');
      const toolMetadata = tool.map('metadata') ?? {};
      reportUnknownKeys(tool, WRAPPER_KEYS);
      const metadata = { ...toolMetadata, ...tool.rest() };
      return {
        shape,
        definition: finish(report, context, identity, top, {
          capabilities,
          tags: wrapperTags,
          metadata,
          knownKeys: ['tool'],
        }),
      };
    }
    case 'stub': {
      const identity = readIdentity(top, 'name');
      top.consume('capabilities');
      const fields = readToolFields(top);
      return {
        shape,
        breaking: fields.breaking,
        successorGiven: fields.successor !== undefined,
        definition: finish(report, context, identity, top, {
          capabilities: readCapabilities(value.capabilities, ['capabilities'], report),
          tags: top.stringList('tags') ?? [],
          metadata: top.map('metadata') ?? {},
          ...fields,
        }),
      };
    }
    case 'metadata-identity': {
      const meta = top.child('metadata')!;
      const identity = readIdentity(meta, 'name');
      top.consume('capabilities');
      return {
        shape,
        definition: finish(report, context, identity, top, {
          capabilities: readCapabilities(value.capabilities, ['capabilities'], report),
          tags: tagsFromMetadata(meta.value.tags, ['metadata', 'tags'], report),
          metadata: meta.rest(),
          examples: top.list('examples'),
          knownKeys: ['metadata', 'capabilities', 'examples'],
        }),
      };
    }
  }
}

