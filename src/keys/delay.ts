/** The only grace periods rotation accepts. `now` ends the old key at once. */
export const DELAYS = ['now', '1h', '3h', '24h', '48h', '72h'] as const;
export type Delay = (typeof DELAYS)[number];
export const DEFAULT_DELAY: Delay = '24h';

const HOUR = 3_600_000;
const DELAY_MS: Record<Delay, number> = {
  now: 0,
  '1h': HOUR,
  '3h': 3 * HOUR,
  '24h': 24 * HOUR,
  '48h': 48 * HOUR,
  '72h': 72 * HOUR,
};

const DELAY_LABELS: Record<Delay, string> = {
  now: 'Immediately',
  '1h': '1 hour',
  '3h': '3 hours',
  '24h': '24 hours',
  '48h': '48 hours',
  '72h': '72 hours',
};

export function isDelay(value: unknown): value is Delay {
  return typeof value === 'string' && (DELAYS as readonly string[]).includes(value);
}

export function delayMs(delay: Delay): number {
  return DELAY_MS[delay];
}

export function delayLabel(delay: Delay): string {
  return DELAY_LABELS[delay];
}
