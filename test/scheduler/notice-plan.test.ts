import { describe, expect, it } from 'vitest';
import { delayMs } from '../../src/keys/delay.ts';
import { eligibleOffsets, formatOffset, planNotice } from '../../src/services/notice-plan.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';

const OFFSETS = [24 * HOUR, HOUR, 10 * MINUTE];
const rotatedAt = new Date('2026-01-15T10:00:00Z');
const expiring = (grace: number) => new Date(rotatedAt.getTime() + grace);

describe('planNotice', () => {
  it.each([
    ['1h', ['10m']],
    ['3h', ['1h', '10m']],
    ['24h', ['1h', '10m']],
    ['48h', ['24h', '1h', '10m']],
    ['72h', ['24h', '1h', '10m']],
    ['now', []],
  ] as const)(
    'reminds a %s grace period at %j before expiry, only offsets shorter than the grace',
    (delay, expected) => {
      const expiresAt = expiring(delayMs(delay));
      expect(
        eligibleOffsets({ expiresAt, graceStartedAt: rotatedAt, offsets: OFFSETS }).map(formatOffset),
      ).toEqual(expected);
    },
  );

  it('is due exactly at expiresAt - offset, not a millisecond before', () => {
    const expiresAt = expiring(3 * HOUR);
    const at = (ms: number) =>
      planNotice({ expiresAt, graceStartedAt: rotatedAt, offsets: OFFSETS, now: new Date(ms) });
    expect(at(expiresAt.getTime() - HOUR - 1).due).toBeNull();
    expect(at(expiresAt.getTime() - HOUR - 1).nextAt).toEqual(new Date(expiresAt.getTime() - HOUR));
    expect(at(expiresAt.getTime() - HOUR).due?.kind).toBe('reminder:1h');
    expect(at(expiresAt.getTime() - HOUR).nextAt).toEqual(new Date(expiresAt.getTime() - 10 * MINUTE));
  });

  it('after downtime offers only the latest reminder and supersedes the earlier ones', () => {
    const expiresAt = expiring(72 * HOUR);
    const plan = planNotice({
      expiresAt,
      graceStartedAt: rotatedAt,
      offsets: OFFSETS,
      now: new Date(expiresAt.getTime() - 5 * MINUTE),
    });
    expect(plan.due?.kind).toBe('reminder:10m');
    expect(plan.superseded).toEqual(['reminder:24h', 'reminder:1h']);
    expect(plan.nextAt).toEqual(expiresAt);
  });

  it('once expired, owes only the expiry alert and no reminder, then looks for refused presentations every 5 minutes', () => {
    const expiresAt = expiring(24 * HOUR);
    const plan = planNotice({ expiresAt, graceStartedAt: rotatedAt, offsets: OFFSETS, now: expiresAt });
    expect(plan.due).toEqual({ kind: 'expired', offsetMs: null });
    expect(plan.superseded).toEqual(['reminder:1h', 'reminder:10m']);
    expect(plan.nextAt).toEqual(new Date(expiresAt.getTime() + 5 * MINUTE));
  });

  it('gives a `now` rotation only the expiry alert', () => {
    const plan = planNotice({
      expiresAt: rotatedAt,
      graceStartedAt: rotatedAt,
      offsets: OFFSETS,
      now: rotatedAt,
    });
    expect(plan).toEqual({
      due: { kind: 'expired', offsetMs: null },
      superseded: [],
      nextAt: new Date(rotatedAt.getTime() + 5 * MINUTE),
    });
  });

  it('without a known rotation time sends only the expiry alert', () => {
    const expiresAt = expiring(48 * HOUR);
    const plan = planNotice({
      expiresAt,
      graceStartedAt: null,
      offsets: OFFSETS,
      now: new Date(expiresAt.getTime() - HOUR),
    });
    expect(plan.due).toBeNull();
    expect(plan.nextAt).toEqual(expiresAt);
  });
});

describe('planNotice after expiry', () => {
  const expiresAt = expiring(24 * HOUR);
  const plan = (afterExpiry: number, firstRefusedAfter: number | null) =>
    planNotice({
      expiresAt,
      graceStartedAt: rotatedAt,
      offsets: OFFSETS,
      now: new Date(expiresAt.getTime() + afterExpiry),
      firstExpiredUseAt:
        firstRefusedAfter === null ? null : new Date(expiresAt.getTime() + firstRefusedAfter),
    });

  it('owes the used-after-expiry alert 10 minutes after the first refused presentation, not before', () => {
    expect(plan(2 * HOUR + 5 * MINUTE, 2 * HOUR)).toMatchObject({
      due: { kind: 'expired' },
      nextAt: new Date(expiresAt.getTime() + 2 * HOUR + 10 * MINUTE),
    });
    expect(plan(2 * HOUR + 10 * MINUTE, 2 * HOUR)).toEqual({
      due: { kind: 'used_after_expiry', offsetMs: null },
      superseded: ['reminder:1h', 'reminder:10m', 'expired'],
      nextAt: null,
    });
  });

  it('stops looking 24 hours after expiry when nothing was refused', () => {
    expect(plan(24 * HOUR - 2 * MINUTE, null).nextAt).toEqual(new Date(expiresAt.getTime() + 24 * HOUR));
    expect(plan(24 * HOUR, null)).toMatchObject({ due: { kind: 'expired' }, nextAt: null });
  });

  it('ignores a first refused presentation after the 24-hour watch', () => {
    expect(plan(25 * HOUR, 24 * HOUR + MINUTE)).toMatchObject({ due: { kind: 'expired' }, nextAt: null });
  });
});
