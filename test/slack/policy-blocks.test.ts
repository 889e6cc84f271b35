import { describe, expect, it } from 'vitest';
import { checkMessage, checkView } from '../../src/fake-slack/block-kit-limits.ts';
import type { KeySummary } from '../../src/services/types.ts';
import { buildHistoryModal } from '../../src/slack/blocks/history-modal.ts';
import { buildHomeView } from '../../src/slack/blocks/home-view.ts';
import { buildPolicyDigestMessage, type DigestItem } from '../../src/slack/blocks/policy-digest-message.ts';
import { buildPolicyNoticeMessage } from '../../src/slack/blocks/policy-notice-message.ts';
import { ids } from '../../src/slack/ids.ts';

const now = new Date('2026-03-10T09:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const card = (policy: Pick<KeySummary, 'rotateEvery' | 'rotationDueAt' | 'overdue'>): KeySummary => ({
  id: '00000000-0000-4000-8000-000000000001',
  name: 'payments',
  products: ['payments'],
  maintainers: ['U1'],
  alertChannel: 'C1',
  rotateEveryDays: policy.rotateEvery === null ? null : Number.parseInt(policy.rotateEvery, 10),
  createdAt: new Date(now.getTime() - 100 * DAY),
  lastRotatedAt: null,
  ...policy,
  current: { id: 's1', display: 'rk_live_AbCd…wxyz', createdAt: now, expiresAt: null },
  inGrace: [],
});

/** The card's first section: the name line and the policy line under it. */
function cardHeadline(key: KeySummary): string {
  const view = buildHomeView({ keys: [key], page: 0, now, isAdmin: false });
  expect(checkView(view)).toEqual([]);
  const section = view.blocks.find((b) => b.type === 'section' && JSON.stringify(b).includes('payments'));
  return (section as { text: { text: string } }).text.text;
}

describe('the key card shows the rotation policy', () => {
  it('"rotation due in 12 days" while it is not due yet', () => {
    const text = cardHeadline(
      card({
        rotateEvery: '90d',
        rotationDueAt: new Date(now.getTime() + 12 * DAY + 5 * HOUR),
        overdue: false,
      }),
    );
    expect(text).toContain('rotation due in 12 days');
    expect(text).toContain('every 90 days');
    expect(text).not.toContain(':warning:');
  });

  it('"overdue by 3 days", highlighted, once it is past due', () => {
    const text = cardHeadline(
      card({ rotateEvery: '30d', rotationDueAt: new Date(now.getTime() - 3 * DAY - HOUR), overdue: true }),
    );
    expect(text).toContain(':warning: *rotation overdue by 3 days*');
  });

  it('"no rotation policy" without one', () => {
    const text = cardHeadline(card({ rotateEvery: null, rotationDueAt: null, overdue: false }));
    expect(text).toContain('no rotation policy');
    expect(text).not.toContain('due in');
  });
});

const item = (i: number, dueInDays: number): DigestItem => ({
  keyId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  keyName: `key-${String(i).padStart(3, '0')}`,
  dueAt: new Date(now.getTime() + dueInDays * DAY),
  rotateEvery: '90d',
});

describe('policy messages', () => {
  it('a reminder names the key, when it is due and its policy, with a Rotate… button for it', () => {
    const message = buildPolicyNoticeMessage([{ kind: 'due', ...item(1, 7) }], { audience: 'channel', now });
    expect(checkMessage(message)).toEqual([]);
    expect(message.text).toContain('key-001 is due for rotation in 7 days');
    expect(message.text).toContain('every 90 days');
    const buttons = message.blocks.flatMap((b) => ('accessory' in b && b.accessory ? [b.accessory] : []));
    expect(buttons).toEqual([
      expect.objectContaining({ action_id: ids.home.rotate, value: item(1, 7).keyId }),
    ]);
  });

  it('the digest of many keys stays within 50 blocks, lists the most overdue first and says how many more', () => {
    const items = Array.from({ length: 60 }, (_, i) => item(i, 6 - i * 0.25));
    const message = buildPolicyDigestMessage(items, now);
    expect(checkMessage(message)).toEqual([]);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    const buttons = message.blocks.flatMap((b) =>
      'accessory' in b && b.accessory && 'value' in b.accessory ? [b.accessory.value] : [],
    );
    expect(buttons[0]).toBe(item(59, 0).keyId);
    expect(buttons).toHaveLength(45);
    expect(JSON.stringify(message.blocks)).toContain(
      "…and *15 more keys* due for rotation: open rekey's Home",
    );
  });
});

describe('the key history', () => {
  it('shows a policy change with who made it and the policy before and after', () => {
    const base = { source: 'slack', delay: null, oldSecretDisplay: null, newSecretDisplay: null, at: now };
    const modal = buildHistoryModal({
      keyName: 'payments',
      events: [
        { ...base, action: 'create', actor: 'cli:ops', source: 'cli', details: { rotateEvery: '90d' } },
        { ...base, action: 'policy', actor: 'UADA', details: { before: '90d', after: null } },
      ],
    });
    const text = JSON.stringify(modal.blocks);
    expect(text).toContain('*Created* by cli:ops from the CLI');
    expect(text).toContain('rotation every 90 days');
    expect(text).toContain('*Rotation policy changed* by <@UADA> from Slack');
    expect(text).toContain('rotation every 90 days → no rotation policy');
  });
});
