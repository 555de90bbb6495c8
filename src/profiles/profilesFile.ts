import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { MemoryCatalog } from '../memoryCatalog/memoryCatalog.js';
import { buildSnapshot, compileTool, SharedValues, type CatalogSnapshot, type MemoryCapabilityRow, type MemoryPatternRow, type MemoryToolRow } from '../memoryCatalog/snapshot.js';
import { profilesOf, type Profiles } from './profiles.js';

/** Writes `text` to `file` so that a reader sees the old content or the new, never half of it. */
export async function writeFileAtomically(file: string, text: string | Uint8Array): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Keeps PROFILES_SNAPSHOT_PATH equal to the profiles of the newest in-memory revision: written
 * atomically after every change, one write at a time, always the latest revision.
 */
export function keepProfilesFile(memory: MemoryCatalog, file: string, log: Logger): () => void {
  let writing = false;
  let pending: CatalogSnapshot | undefined;
  const drain = async () => {
    if (writing) return;
    writing = true;
    try {
      while (pending) {
        const snapshot = pending;
        pending = undefined;
        if (snapshot.source !== 'database') continue;
        try {
          await writeFileAtomically(file, profilesOf(snapshot).bytes);
        } catch (error) {
          log.warn({ err: error, file }, 'could not write the profiles snapshot');
        }
      }
    } finally {
      writing = false;
    }
  };
  const follow = (snapshot: CatalogSnapshot) => {
    pending = snapshot;
    void drain();
  };
  if (memory.snapshot) follow(memory.snapshot);
  return memory.onSnapshot(follow);
}

const PATTERN_FIELDS = new Set([
  'description', 'typical_use_cases', 'time_estimate_ms', 'cost_estimate', 'complexity_score', 'scope', 'completeness', 'limitations',
  'policy', 'preference_match', 'required_inputs', 'optional_inputs', 'expected_outputs', 'examples',
]);

const objectOf = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const stringsOf = (value: unknown): string[] => listOf(value).filter((item): item is string => typeof item === 'string');
const textOf = (value: unknown): string | null => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);

/** A stable made-up id, so the same file gives the same ids (the real ones are in the database). */
function syntheticId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A snapshot rebuilt from a profiles file: what a service that starts while the database is
 * unreachable serves (stale) until the database answers. It holds what the file holds: the enabled
 * tools with their patterns (no history, no disabled tools, made-up ids).
 */
export function snapshotFromProfiles(profiles: Profiles): CatalogSnapshot {
  const epoch = new Date(0);
  const shared = new SharedValues();
  const tools = Object.entries(profiles.tools).map(([key, value]) => {
    const entry = objectOf(value);
    const platform = typeof entry.platform === 'string' ? entry.platform : key.includes('/') ? key.slice(0, key.indexOf('/')) : 'custom';
    const name = key.includes('/') && key.startsWith(`${platform}/`) ? key.slice(platform.length + 1) : key;
    const toolId = syntheticId(name, platform);
    const capabilities: MemoryCapabilityRow[] = Object.entries(objectOf(entry.capabilities)).map(([capabilityName, capabilityValue], position) => {
      const capability = objectOf(capabilityValue);
      const capabilityId = syntheticId(name, platform, capabilityName);
      const patterns: MemoryPatternRow[] = Object.entries(objectOf(capability.patterns)).map(([patternName, patternValue], patternPosition) => {
        const pattern = objectOf(patternValue);
        return {
          id: syntheticId(name, platform, capabilityName, patternName),
          capabilityId,
          name: patternName,
          description: typeof pattern.description === 'string' ? pattern.description : '',
          position: patternPosition,
          typicalUseCases: stringsOf(pattern.typical_use_cases),
          timeEstimateMs: textOf(pattern.time_estimate_ms),
          costEstimate: textOf(pattern.cost_estimate),
          complexityScore: typeof pattern.complexity_score === 'number' ? pattern.complexity_score : null,
          scope: textOf(pattern.scope),
          completeness: textOf(pattern.completeness),
          limitations: stringsOf(pattern.limitations),
          policy: objectOf(pattern.policy),
          preferenceMatch: objectOf(pattern.preference_match),
          requiredInputs: listOf(pattern.required_inputs),
          optionalInputs: listOf(pattern.optional_inputs),
          expectedOutputs: listOf(pattern.expected_outputs),
          examples: listOf(pattern.examples),
          metadata: Object.fromEntries(Object.entries(pattern).filter(([field]) => !PATTERN_FIELDS.has(field))),
        } as MemoryPatternRow;
      });
      const { description, patterns: _patterns, ...rest } = capability;
      return {
        id: capabilityId,
        toolId,
        name: capabilityName,
        description: typeof description === 'string' ? description : '',
        position,
        metadata: rest,
        patterns,
      } as MemoryCapabilityRow;
    });
    const row = {
      id: toolId,
      name,
      platform,
      version: textOf(entry.tool_version) ?? profiles.version,
      description: typeof entry.description === 'string' ? entry.description : '',
      category: typeof entry.category === 'string' ? entry.category : 'general',
      status: 'ACTIVE',
      successor: null,
      enabled: true,
      isLatest: true,
      revision: 1,
      parentId: null,
      executionLocation: null,
      defaults: objectOf(entry.defaults),
      dependencies: [],
      metadata: {},
      examples: [],
      tags: [],
      contentHash: null,
      loadedFrom: null,
      deletedAt: null,
      deletedBy: null,
      createdAt: epoch,
      createdBy: 'profiles-snapshot',
      updatedAt: epoch,
      updatedBy: 'profiles-snapshot',
      capabilities,
      _count: { capabilities: capabilities.length },
    } as MemoryToolRow;
    return compileTool(row, shared);
  });
  return buildSnapshot(BigInt(profiles.revision), tools, 'file');
}

/** Reads a profiles snapshot file; undefined when there is none or it cannot be read. */
export async function readProfilesFile(file: string): Promise<CatalogSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const profiles = JSON.parse(text) as Profiles;
  if (!profiles || typeof profiles !== 'object' || typeof profiles.tools !== 'object' || typeof profiles.revision !== 'number') {
    throw new Error(`${file} is not a profiles snapshot`);
  }
  return snapshotFromProfiles(profiles);
}
