// Every load scenario, by name: the one definition both runners read.
import { legacy } from './legacy.js';
import { pipeline } from './pipeline.js';
import { writes } from './writes.js';

export * from './lib.js';

/** @type {Record<string, import('./lib.js').Scenario>} */
export const SCENARIOS = { legacy, pipeline, writes };

export const SCENARIO_NAMES = Object.keys(SCENARIOS);
