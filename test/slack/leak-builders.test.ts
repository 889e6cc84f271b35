import { describe, expect, it } from 'vitest';
import { checkMessage, checkView } from '../../src/fake-slack/block-kit-limits.ts';
import type { LeakNotice } from '../../src/services/report-leak.ts';
import type { KeySummary } from '../../src/services/types.ts';
import { buildHistoryModal } from '../../src/slack/blocks/history-modal.ts';
import { buildHomeView, KEYS_PER_PAGE } from '../../src/slack/blocks/home-view.ts';
import {
  buildExpiredKeyThreadNote,
  buildLeakAlert,
  buildLeakThreadReply,
} from '../../src/slack/blocks/leak-messages.ts';

const now = new Date('2026-01-15T10:00:00Z');
const keyId = (i: number) => `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function key(i: number): KeySummary {
  return {
    id: keyId(i),
    name: `${String(i).padStart(3, '0')}${'n'.repeat(61)}`,
    products: Array.from({ length: 20 }, (_, p) => `product-${p}-${'p'.repeat(40)}`),
    maintainers: ['U1'],
    alertChannel: 'CALERTS',
    // The longest policy line a card can carry: overdue, highlighted.
    rotateEveryDays: 730,
    rotateEvery: '730d',
    rotationDueAt: new Date(now.getTime() - 400 * 86_400_000),
    overdue: true,
    createdAt: now,
    lastRotatedAt: null,
    current: { id: `c-${i}`, display: 'rk_live_AbCd…wxyz', createdAt: now, expiresAt: null },
    inGrace: Array.from({ length: 8 }, (_, g) => ({
      id: `g-${i}-${g}`,
      display: 'rk_live_EfGh…wxyz',
      createdAt: now,
      expiresAt: new Date(now.getTime() + (g + 1) * 3_600_000),
    })),
  };
}

describe('the red line on the key card', () => {
  it('keeps a full page of leaked keys in grace within Slack’s limits', () => {
    const keys = Array.from({ length: KEYS_PER_PAGE }, (_, i) => key(i));
    const leaks = new Map(
      keys.map((k, i) => [
        k.id,
        i % 2
          ? { channel: 'CGENERAL', url: null, reportedAt: now }
          : { channel: null, url: `https://github.com/acme/${'x'.repeat(1990)}`, reportedAt: now },
      ]),
    );
    const view = buildHomeView({ keys, page: 0, now, isAdmin: true, leaks });
    expect(checkView(view)).toEqual([]);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(view).match(/Reported leaked/g)).toHaveLength(KEYS_PER_PAGE);
  });

  it('is absent from a key with no unrotated report', () => {
    const view = buildHomeView({ keys: [key(1)], page: 0, now, isAdmin: false, leaks: new Map() });
    expect(JSON.stringify(view)).not.toContain('Reported leaked');
  });
});

describe('leak messages', () => {
  const notice = (place: LeakNotice['place']): LeakNotice => ({
    key: { id: keyId(1), name: 'payments <api> & co', maintainers: ['U1'], alertChannel: 'CALERTS' },
    secret: { id: 's', display: 'rk_live_AbCd…wxyz', createdAt: now, expiresAt: null },
    place,
    reportedAt: now,
  });

  it('fit Slack’s message limits and escape what comes from outside', () => {
    const fromScanner = buildLeakAlert({
      notice: notice({
        kind: 'scanner',
        source: '<!channel>',
        url: `https://x.test/<!here>${'y'.repeat(1990)}`,
      }),
    });
    const fromSlack = buildLeakAlert({
      notice: notice({ kind: 'slack_message', channel: 'CGENERAL', messageTs: '1.000001', postedBy: 'U9' }),
      permalink: 'https://demo.slack.com/archives/CGENERAL/p1000001',
    });
    const reply = buildLeakThreadReply({
      keyId: keyId(1),
      keyName: 'payments',
      display: 'rk_live_AbCd…wxyz',
      postedBy: null,
    });
    const note = buildExpiredKeyThreadNote({ keyName: 'payments', display: 'rk_live_AbCd…wxyz' });
    for (const message of [fromScanner, fromSlack, reply, note])
      expect(checkMessage({ ...message })).toEqual([]);
    const scannerText = JSON.stringify(fromScanner.blocks);
    expect(scannerText).not.toContain('<!channel>');
    expect(scannerText).not.toContain('<!here>');
    expect(scannerText).toContain('payments &lt;api&gt; &amp; co');
    expect(JSON.stringify(fromSlack.blocks)).toContain(
      '<https://demo.slack.com/archives/CGENERAL/p1000001|the message>',
    );
  });

  it('the history names who posted a leaked key, or which scanner found it', () => {
    const at = now;
    const view = buildHistoryModal({
      keyName: 'payments',
      events: [
        {
          action: 'leak_reported',
          actor: 'UOSCAR',
          source: 'slack',
          delay: null,
          oldSecretDisplay: null,
          newSecretDisplay: null,
          at,
        },
        {
          action: 'leak_reported',
          actor: 'scanner:commit',
          source: 'api',
          delay: null,
          oldSecretDisplay: null,
          newSecretDisplay: null,
          at,
        },
      ],
    });
    const text = JSON.stringify(view);
    expect(text).toContain('posted by <@UOSCAR>');
    expect(text).toContain('found by scanner:commit');
  });
});
