import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KeySummary, SecretView } from '../../src/services/types.ts';
import { decodeEndGraceValue, encodeEndGraceValue } from '../../src/slack/end-grace-value.ts';

const secret = (): SecretView => ({
  id: randomUUID(),
  display: 'rk_live_AbCd…wxyz',
  createdAt: new Date(0),
  expiresAt: new Date(1),
});

const keyWith = (oldKeys: number): KeySummary => ({
  id: randomUUID(),
  name: 'orders',
  products: [],
  maintainers: [],
  alertChannel: null,
  rotateEveryDays: null,
  createdAt: new Date(0),
  lastRotatedAt: new Date(0),
  rotateEvery: null,
  rotationDueAt: null,
  overdue: false,
  current: { ...secret(), expiresAt: null },
  inGrace: Array.from({ length: oldKeys }, secret),
});

describe('the End grace button’s value', () => {
  it('carries the key, its current key and every old key shown, and reads back the same', () => {
    const key = keyWith(3);
    expect(decodeEndGraceValue(encodeEndGraceValue(key))).toEqual({
      keyId: key.id,
      seen: { currentSecretId: key.current!.id, oldSecretIds: key.inGrace.map((s) => s.id) },
    });
  });

  it('stays within Slack’s 2000 characters for a key rotated very often, carrying its current key only', () => {
    const key = keyWith(80);
    const value = encodeEndGraceValue(key);
    expect(value.length).toBeLessThanOrEqual(2000);
    expect(decodeEndGraceValue(value)).toEqual({ keyId: key.id, seen: { currentSecretId: key.current!.id } });
  });

  it('says nothing was seen for an old card’s bare key id or anything malformed', () => {
    const keyId = randomUUID();
    for (const value of [keyId, `${keyId}:not-an-id:`, `${keyId}:${randomUUID()}:x,y`, undefined, '']) {
      expect(decodeEndGraceValue(value).seen).toBeUndefined();
    }
  });
});
