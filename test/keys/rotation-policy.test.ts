import { describe, expect, it } from 'vitest';
import { formatRotateEvery, isOverdue, parseRotateEvery, rotationDueAt } from '../../src/keys/index.ts';

const DAY = 86_400_000;
const created = new Date('2026-01-01T00:00:00Z');

describe('rotation policy', () => {
  it('accepts 1d to 730d and none', () => {
    expect(parseRotateEvery('1d')).toEqual({ ok: true, days: 1 });
    expect(parseRotateEvery('90d')).toEqual({ ok: true, days: 90 });
    expect(parseRotateEvery('730d')).toEqual({ ok: true, days: 730 });
    expect(parseRotateEvery('none')).toEqual({ ok: true, days: null });
  });

  it.each(['0d', '731d', '800d', '3w', '90', '', '-1d', '1.5d', '90 d', 'NONE'])(
    'refuses %j and names the accepted range',
    (text) => {
      const parsed = parseRotateEvery(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.message).toContain('from 1d to 730d');
    },
  );

  it('is due N days after creation when never rotated, and after the last rotation otherwise', () => {
    expect(rotationDueAt({ rotateEveryDays: 90, createdAt: created, lastRotatedAt: null })).toEqual(
      new Date(created.getTime() + 90 * DAY),
    );
    const rotated = new Date('2026-03-01T12:00:00Z');
    expect(rotationDueAt({ rotateEveryDays: 30, createdAt: created, lastRotatedAt: rotated })).toEqual(
      new Date(rotated.getTime() + 30 * DAY),
    );
    expect(rotationDueAt({ rotateEveryDays: null, createdAt: created, lastRotatedAt: null })).toBeNull();
  });

  it('is overdue from the due instant on, never without a policy', () => {
    const key = { rotateEveryDays: 1, createdAt: created, lastRotatedAt: null };
    expect(isOverdue(key, new Date(created.getTime() + DAY - 1))).toBe(false);
    expect(isOverdue(key, new Date(created.getTime() + DAY))).toBe(true);
    expect(isOverdue({ ...key, rotateEveryDays: null }, new Date(created.getTime() + 999 * DAY))).toBe(false);
  });

  it('writes the policy as the CLI prints it', () => {
    expect(formatRotateEvery(90)).toBe('90d');
    expect(formatRotateEvery(null)).toBeNull();
  });
});
