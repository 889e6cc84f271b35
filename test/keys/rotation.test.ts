import { describe, expect, it } from 'vitest';
import { DELAYS, delayMs, isDelay } from '../../src/keys/delay.ts';
import { endGraceExpiry, replacedSecretExpiry, secretState } from '../../src/keys/rotation.ts';

const now = new Date('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

describe('rotation rules', () => {
  it('accepts exactly the six delays, at most 72 hours', () => {
    expect([...DELAYS]).toEqual(['now', '1h', '3h', '24h', '48h', '72h']);
    expect(DELAYS.map(delayMs)).toEqual([0, HOUR, 3 * HOUR, 24 * HOUR, 48 * HOUR, 72 * HOUR]);
    for (const bad of ['2h', '0', '', '73h', '24H', 24, null]) expect(isDelay(bad)).toBe(false);
  });

  it('gives the replaced secret now + delay', () => {
    expect(replacedSecretExpiry(now, '3h', null)).toEqual(new Date(now.getTime() + 3 * HOUR));
    expect(replacedSecretExpiry(now, 'now', null)).toEqual(now);
  });

  it('never extends a lifetime already shorter than now + delay', () => {
    const soon = new Date(now.getTime() + HOUR);
    expect(replacedSecretExpiry(now, '72h', soon)).toEqual(soon);
    expect(replacedSecretExpiry(now, 'now', soon)).toEqual(now);
  });

  it('ending grace moves expiry to now, never later', () => {
    const later = new Date(now.getTime() + HOUR);
    const earlier = new Date(now.getTime() - HOUR);
    expect(endGraceExpiry(now, later)).toEqual(now);
    expect(endGraceExpiry(now, earlier)).toEqual(earlier);
  });

  it('a secret is expired exactly at its expiry instant', () => {
    expect(secretState(null, now)).toBe('current');
    expect(secretState(new Date(now.getTime() + 1), now)).toBe('grace');
    expect(secretState(now, now)).toBe('expired');
  });
});
