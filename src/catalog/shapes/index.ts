
import { toolDefinition, type CapabilityDefinition, type ToolDefinition } from '../definition.js';
import type { FileReport } from '../diagnostics.js';
import { KNOWN_PLATFORMS } from '../vocabulary.js';
import { describeValue } from '../yamlSource.js';
import { readCapabilities, readPattern } from './capabilities.js';
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
}

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
    enabled?: boolean;
    executionLocation?: string;
    defaults?: Json;
    dependencies?: unknown[];
    examples?: unknown[];
  },
): ToolDefinition | undefined {
  let platform = identity.platform;
  if (!platform) {
    if (context.directoryPlatform) {
      platform = context.directoryPlatform;
      report.warn(['platform'], `no platform given; using ${JSON.stringify(platform)} from the file's directory`);
    } else {
      report.error(['platform'], 'required field is missing');
    }
  } else if (!KNOWN_PLATFORMS.has(platform.trim().toLowerCase())) {
    report.warn(['platform'], `unknown platform ${JSON.stringify(platform)}; kept as written`);
  }
  let status: ToolDefinition['status'] | undefined;
  if (parts.status !== undefined) {
    status = STATUS[parts.status.toLowerCase() as keyof typeof STATUS];
    if (!status) report.error(['status'], `expected one of ${Object.keys(STATUS).join(', ')}, found ${JSON.stringify(parts.status)}`);
  }
  if (!identity.name) report.error(['name'], 'the tool has no name');
  if (!identity.version) report.error(['version'], 'required field is missing');
  if (!identity.category) report.error(['category'], 'required field is missing');
  if (report.hasErrors) return undefined;
  const parsed = toolDefinition.safeParse({
    name: identity.name,
    platform,
    version: identity.version,
    description: identity.description ?? '',
    category: identity.category,
    status,
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
    for (const issue of parsed.error.issues) report.error(issue.path.map(String), issue.message);
    return undefined;
  }
  return parsed.data;
}

function tagsFrom(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
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
      const identity: Identity = {
        name: top.string(shape === 'canonical' ? 'name' : 'tool_name', { required: true }),
        version: top.string('version'),
        description: top.string('description'),
        platform: top.string('platform'),
        category: top.string('category'),
      };
      const metadata = top.map('metadata') ?? {};
      const tags = shape === 'canonical' ? (top.stringList('tags') ?? []) : tagsFrom(metadata.tags);
      top.consume('capabilities');
      return {
        shape,
        definition: finish(report, context, identity, top, {
          capabilities: readCapabilities(value.capabilities, ['capabilities'], report),
          tags,
          metadata,
          status: top.string('status'),
          enabled: top.boolean('enabled'),
          executionLocation: top.string('execution_location'),
          defaults: top.map('defaults'),
          dependencies: top.list('dependencies'),
          examples: top.list('examples'),
        }),
      };
    }
    case 'windows-wrapper': {
      const tool = top.child('tool')!;
      const identity: Identity = {
        name: tool.string('name', { required: true }),
        version: tool.string('version'),
        description: tool.string('description'),
        platform: tool.string('platform'),
        category: tool.string('category'),
      };
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
      tool.consume('policy', 'inputs');
      const metadata = { ...(tool.map('metadata') ?? {}), ...tool.rest() };
      return {
        shape,
        definition: finish(report, context, identity, top, {
          capabilities,
          tags: tagsFrom(tool.value.tags),
          metadata,
        }),
      };
    }
    case 'stub': {
      const identity: Identity = {
        name: top.string('name', { required: true }),
        version: top.string('version'),
        description: top.string('description'),
        platform: top.string('platform'),
        category: top.string('category'),
      };
      top.consume('capabilities');
      return {
        shape,
        definition: finish(report, context, identity, top, {
          capabilities: readCapabilities(value.capabilities, ['capabilities'], report),
          tags: top.stringList('tags') ?? [],
          metadata: top.map('metadata') ?? {},
          status: top.string('status'),
          enabled: top.boolean('enabled'),
          executionLocation: top.string('execution_location'),
          defaults: top.map('defaults'),
          dependencies: top.list('dependencies'),
          examples: top.list('examples'),
        }),
      };
    }
    case 'metadata-identity': {
      const meta = top.child('metadata')!;
      const identity: Identity = {
        name: meta.string('name', { required: true }),
        version: meta.string('version'),
        description: meta.string('description'),
        platform: meta.string('platform'),
        category: meta.string('category'),
      };
      top.consume('capabilities');
      return {
        shape,
        definition: finish(report, context, identity, top, {
          capabilities: readCapabilities(value.capabilities, ['capabilities'], report),
          tags: tagsFrom(meta.value.tags),
          metadata: meta.rest(),
          examples: top.list('examples'),
        }),
      };
    }
  }
}

