import { CatalogClock } from '../cache/catalogClock.js';

/**
 * The telemetry generation: advances whenever reported runs are stored (never for catalog changes,
 * and a report never advances the catalog generation). Whatever is computed from roll-ups and kept
 * in memory (observed performance for selection) is rebuilt when it moves.
 */
export class TelemetryClock extends CatalogClock {}
