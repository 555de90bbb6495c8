/** The windows stats are asked for. Roll-ups are hourly, so a window starts on a whole hour. */
export const STATS_WINDOWS = ['LAST_HOUR', 'LAST_24H', 'LAST_7D', 'LAST_30D', 'ALL'] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

const HOUR_MS = 3_600_000;
const WINDOW_MS: Record<StatsWindow, number | null> = {
  LAST_HOUR: HOUR_MS,
  LAST_24H: 24 * HOUR_MS,
  LAST_7D: 7 * 24 * HOUR_MS,
  LAST_30D: 30 * 24 * HOUR_MS,
  ALL: null,
};

export function hourOf(at: Date | number): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS);
}

/**
 * The first hour a window covers: the hour that contained `now - window`. Runs are counted by the
 * hour they started in, so a window covers its length plus the part of the first hour before it
 * (LAST_HOUR at 10:20 covers runs that started from 09:00). Null for ALL.
 */
export function windowStart(window: StatsWindow, now = Date.now()): Date | null {
  const length = WINDOW_MS[window];
  return length === null ? null : hourOf(now - length);
}
