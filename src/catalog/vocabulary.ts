/**
 * Words the legacy files use. Anything else is kept as written with a warning: an allow-list must
 * never lose a real tool (the legacy service's rejected 63 files).
 */
export const KNOWN_PLATFORMS = new Set([
  'linux', 'windows', 'network', 'database', 'cloud', 'kubernetes', 'container', 'monitoring', 'custom',
]);
/** Both vocabularies in use: single_item/batch/exhaustive and single/multiple/all. */
export const KNOWN_SCOPES = new Set(['single_item', 'batch', 'exhaustive', 'single', 'multiple', 'all']);
/** complete and its legacy synonym full; partial and summary for answers that are not. */
export const KNOWN_COMPLETENESS = new Set(['complete', 'full', 'partial', 'summary']);
