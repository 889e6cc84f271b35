import { describe, expect, it } from 'vitest';
import { checkMessage, checkView } from '../../src/fake-slack/block-kit-limits.ts';
import type { LeakNoticeToSend } from '../../src/services/leak-outbox.ts';
import type { KeySummary } from '../../src/services/types.ts';
import { buildHistoryModal } from '../../src/slack/blocks/history-modal.ts';
import { buildHomeView, KEYS_PER_PAGE } from '../../src/slack/blocks/home-view.ts';
import { buildLeakAlert, buildLeakThreadReply } from '../../src/slack/blocks/leak-messages.ts';

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
        {
          ...(i % 2
            ? { channel: 'CGENERAL', url: null }
            : { channel: null, url: `https://github.com/acme/${'x'.repeat(1990)}` }),
          reportedAt: now,
          // Half of them an old key a delayed rotation left working: the longer line.
          leakedExpiresAt: i % 2 ? null : new Date(now.getTime() + 3_600_000),
          leakedSecretId: `g-${i}-0`,
          leakedDisplay: 'rk_live_EfGh…wxyz',
        },
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
  const notice = (
    report: Partial<LeakNoticeToSend['report']>,
    more: Partial<LeakNoticeToSend> = {},
  ): LeakNoticeToSend => ({
    id: 'n',
    kind: 'channel',
    recipient: 'CALERTS',
    threadTs: null,
    round: 1,
    attempt: 1,
    reports: 1,
    reporters: [],
    key: { id: keyId(1), name: 'payments <api> & co', onLeak: 'notify' },
    secret: { id: keyId(2), display: 'rk_live_AbCd…wxyz', state: 'current', expiresAt: null },
    report: {
      live: true,
      foundBy: 'slack_message',
      channel: null,
      messageTs: null,
      postedBy: null,
      url: null,
      reportedAt: now,
      ...report,
    },
    contained: null,
    now,
    ...more,
  });

  it('fit Slack’s message limits and escape what comes from outside', () => {
    const fromScanner = buildLeakAlert(
      notice(
        { foundBy: 'scanner:<!channel>', url: `https://x.test/<!here>${'y'.repeat(1990)}` },
        { round: 2, reports: 49, reporters: Array.from({ length: 10 }, (_, i) => `scanner:<!here>${i}`) },
      ),
    );
    const fromSlack = buildLeakAlert(
      notice({ channel: 'CGENERAL', messageTs: '1.000001', postedBy: 'U9' }),
      'https://demo.slack.com/archives/CGENERAL/p1000001',
    );
    const reply = buildLeakThreadReply(
      notice({ channel: 'CGENERAL', messageTs: '1.000001' }, { kind: 'thread', threadTs: '1.000001' }),
    );
    const note = buildLeakThreadReply(
      notice(
        { channel: 'CGENERAL', messageTs: '1.000001', live: false },
        { kind: 'thread', threadTs: '1.000001' },
      ),
    );
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
