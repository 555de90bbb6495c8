import diff from 'microdiff';
import type { ToolDefinition } from './definition.js';

export type ChangeKind = 'ADDED' | 'REMOVED' | 'CHANGED';

/** One difference between two versions, at a dotted path such as `capabilities.text_search.patterns.basic.complexityScore`. */
export interface ToolChange {
  path: string;
  kind: ChangeKind;
  before?: unknown;
  after?: unknown;
}

const KIND = { CREATE: 'ADDED', REMOVE: 'REMOVED', CHANGE: 'CHANGED' } as const;

/**
 * Capabilities and patterns keyed by name, so a change reads as `capabilities.ping.patterns.basic…`
 * and reordering or inserting one does not show as every later item changing.
 */
/** A list of inputs or outputs keyed by name when every item has a distinct one; as it is otherwise. */
function byName(list: unknown[]): unknown {
  const names = list.map((item) => (item && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : undefined));
  if (names.some((name) => name === undefined) || new Set(names).size !== names.length) return list;
  return Object.fromEntries(list.map((item, i) => [names[i]!, item]));
}

function keyed(definition: ToolDefinition | null): Record<string, unknown> {
  if (!definition) return {};
  return {
    ...definition,
    capabilities: Object.fromEntries(
      definition.capabilities.map((capability) => [
        capability.name,
        {
          ...capability,
          patterns: Object.fromEntries(
            capability.patterns.map((pattern) => [
              pattern.name,
              // Inputs and outputs by name: a renamed or removed one shows as itself, not as every later one shifting.
              { ...pattern, requiredInputs: byName(pattern.requiredInputs), optionalInputs: byName(pattern.optionalInputs), expectedOutputs: byName(pattern.expectedOutputs) },
            ]),
          ),
        },
      ]),
    ),
  };
}

/** What changed from `before` (null: nothing yet) to `after`, field by field. */
export function diffDefinitions(before: ToolDefinition | null, after: ToolDefinition | null): ToolChange[] {
  return diff(keyed(before), keyed(after)).map((change) => ({
    path: change.path.join('.'),
    kind: KIND[change.type],
    ...('oldValue' in change ? { before: change.oldValue } : {}),
    ...('value' in change ? { after: change.value } : {}),
  }));
}
