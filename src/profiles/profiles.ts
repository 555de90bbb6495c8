import { gzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { CatalogSnapshot, MemoryToolRow } from '../memoryCatalog/snapshot.js';

/**
 * The enabled catalog in the legacy optimization-profiles shape (tool_optimization_profiles.yaml),
 * built from one in-memory snapshot. Cached per snapshot and platform: a snapshot never changes, so
 * its profiles (and their JSON text) never do either.
 */

/** The legacy profiles format this reproduces (its `version:` line). */
export const PROFILES_FORMAT_VERSION = '1.1';

export interface Profiles {
  version: string;
  revision: number;
  platform: string | null;
  tools: Record<string, unknown>;
}

export interface RenderedProfiles {
  profiles: Profiles;
  /** The profiles as UTF-8 JSON, encoded once: GET /profiles writes these bytes as they are. */
  bytes: Buffer;
  etag: string;
  /** The ETag of the gzipped bytes: a strong tag names one representation (RFC 9110 8.8.3). */
  gzipEtag: string;
  /**
   * The same bytes gzipped, once they are: undefined until then. The first call starts compressing
   * (on libuv's thread pool, off the event loop); GET /profiles answers uncompressed meanwhile, so
   * no request waits for it.
   */
  gzipped(): Buffer | undefined;
}

const cache = new WeakMap<CatalogSnapshot, Map<string, RenderedProfiles>>();

/**
 * zlib's default level: the whole 5,000-tool catalog (38 MB of JSON) compresses to about a tenth in
 * well under a second of one pool thread, once per revision.
 */
const GZIP_LEVEL = 6;

const NUMBER_LITERAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** An estimate as the legacy file writes it: a plain number stays a number, an expression stays text. */
function estimateValue(text: string | null): string | number | null {
  if (text === null) return null;
  return NUMBER_LITERAL.test(text) && String(Number(text)) === text ? Number(text) : text;
}

const isEmpty = (value: unknown) =>
  value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function toolProfile(tool: MemoryToolRow): Record<string, unknown> {
  const defaults = objectOf(tool.defaults);
  const capabilities: Record<string, unknown> = {};
  for (const capability of tool.capabilities) {
    const patterns: Record<string, unknown> = {};
    for (const pattern of capability.patterns) {
      const fields: Record<string, unknown> = {
        // Keys the importer did not model come back where they were.
        ...objectOf(pattern.metadata),
        description: pattern.description,
        typical_use_cases: pattern.typicalUseCases,
        time_estimate_ms: estimateValue(pattern.timeEstimateMs),
        cost_estimate: estimateValue(pattern.costEstimate),
        complexity_score: pattern.complexityScore,
        scope: pattern.scope,
        completeness: pattern.completeness,
        limitations: pattern.limitations,
        policy: pattern.policy,
        preference_match: pattern.preferenceMatch,
        required_inputs: pattern.requiredInputs,
        optional_inputs: pattern.optionalInputs,
        expected_outputs: pattern.expectedOutputs,
        examples: pattern.examples,
      };
      // The tool's defaults fill what the pattern leaves empty.
      for (const [key, value] of Object.entries(defaults)) if (isEmpty(fields[key])) fields[key] = value;
      patterns[pattern.name] = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null && value !== undefined));
    }
    capabilities[capability.name] = {
      ...objectOf(capability.metadata),
      ...(capability.description ? { description: capability.description } : {}),
      patterns,
    };
  }
  return {
    description: tool.description,
    platform: tool.platform,
    category: tool.category,
    tool_version: tool.version,
    defaults,
    capabilities,
  };
}

/** Tools the pipeline may use: enabled, and not switched off by status. */
const usable = (tool: MemoryToolRow) => tool.enabled && tool.status !== 'DISABLED' && tool.status !== 'DRAFT';

/**
 * The profiles of a snapshot. With `platform`, only that platform's tools, keyed by name; without,
 * every tool, keyed by name, except names on several platforms, keyed `<platform>/<name>`.
 */
export function profilesOf(snapshot: CatalogSnapshot, platform?: string | null): RenderedProfiles {
  const wanted = platform?.trim() ? platform.trim().toLowerCase() : null;
  const key = wanted ?? '\u0000all';
  let perSnapshot = cache.get(snapshot);
  if (!perSnapshot) {
    perSnapshot = new Map();
    cache.set(snapshot, perSnapshot);
  }
  const cached = perSnapshot.get(key);
  if (cached) return cached;
  const tools = snapshot.tools.map((t) => t.row).filter((tool) => usable(tool) && (wanted === null || tool.platform.toLowerCase() === wanted));
  const platformsOf = new Map<string, number>();
  for (const tool of tools) platformsOf.set(tool.name, (platformsOf.get(tool.name) ?? 0) + 1);
  const entries: Record<string, unknown> = {};
  for (const tool of tools) {
    const name = wanted === null && platformsOf.get(tool.name)! > 1 ? `${tool.platform}/${tool.name}` : tool.name;
    entries[name] = toolProfile(tool);
  }
  const profiles: Profiles = { version: PROFILES_FORMAT_VERSION, revision: Number(snapshot.revision), platform: wanted, tools: entries };
  const bytes = Buffer.from(JSON.stringify(profiles), 'utf8');
  const etag = profilesEtag(snapshot.revision, wanted);
  const rendered: RenderedProfiles = { profiles, bytes, etag, gzipEtag: `${etag.slice(0, -1)}-gzip"`, gzipped: gzipOnce(bytes) };
  perSnapshot.set(key, rendered);
  return rendered;
}

/** `bytes` gzipped once, on first ask, in the background: undefined until done (or if it failed). */
function gzipOnce(bytes: Buffer): () => Buffer | undefined {
  let started = false;
  let done: Buffer | undefined;
  return () => {
    if (!started) {
      started = true;
      gzip(bytes, { level: GZIP_LEVEL }, (error, compressed) => {
        if (!error) done = compressed;
      });
    }
    return done;
  };
}

/** Derived from the revision and the arguments only: the same revision and platform give the same tag. */
export function profilesEtag(revision: bigint, platform: string | null): string {
  const args = createHash('sha256').update(platform ?? '').digest('hex').slice(0, 16);
  return `"profiles-r${revision}-${args}"`;
}
