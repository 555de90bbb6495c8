import { createHash } from 'node:crypto';
import type { ToolDefinition } from './definition.js';

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Fingerprint of a tool version's content. Lifecycle fields (status, enabled, successor) and the version
 * string are left out: the same content under a new version number is still "unchanged" content,
 * and enabling a tool does not change what it is.
 */
export function contentHash(definition: ToolDefinition): string {
  const { status: _status, enabled: _enabled, successor: _successor, version: _version, ...content } = definition;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
