import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../src/fake-slack/block-kit-limits.ts';
import { TOKEN_LIKE } from '../../src/keys/token.ts';
import {
  buildNoticeMessage,
  buildNoticeMessages,
  ITEMS_PER_MESSAGE,
  type NoticeItem,
} from '../../src/slack/blocks/notice-message.ts';
import { ids } from '../../src/slack/ids.ts';

const now = new Date('2026-01-15T10:00:00Z');
const item = (overrides: Partial<NoticeItem> = {}): NoticeItem => ({
  kind: 'reminder',
  keyName: 'payments',
  oldDisplay: 'rk_live_AbCd…wxyz',
  expiresAt: new Date('2026-01-15T11:00:00Z'),
  ...overrides,
});

describe('buildNoticeMessage', () => {
  it('names the key and the old key, gives the expiry in each reader’s time zone and says what to do', () => {
    const message = buildNoticeMessage([item()], { audience: 'channel', now });
    const all = JSON.stringify(message);
    expect(all).toContain('payments');
    expect(all).toContain('rk_live_AbCd…wxyz');
    expect(all).toContain(
      `<!date^${Date.parse('2026-01-15T11:00:00Z') / 1000}^{date_short_pretty} at {time}|2026-01-15 11:00 UTC>`,
    );
    expect(all).toContain('in 1 hour');
    expect(all).toContain('Deploy the new key');
    expect(all).toContain('rotate again with `/rotate-key payments`');
  });

  it('says an expired key has stopped working', () => {
    const message = buildNoticeMessage([item({ kind: 'expired', expiresAt: now })], {
      audience: 'channel',
      now,
    });
    expect(message.text).toContain('stopped working');
    expect(message.text).not.toContain('stops working');
  });

  it('never carries a key string', () => {
    const message = buildNoticeMessage([item()], { audience: 'dm', now });
    TOKEN_LIKE.lastIndex = 0;
    expect(JSON.stringify(message)).not.toMatch(new RegExp(TOKEN_LIKE.source));
  });

  it('groups several keys into one message, soonest first, within Slack’s block limit', () => {
    const items = Array.from({ length: ITEMS_PER_MESSAGE + 5 }, (_, i) =>
      item({ keyName: `key-${i}`, expiresAt: new Date(now.getTime() + (100 - i) * 60_000) }),
    );
    const messages = buildNoticeMessages(items, { audience: 'channel', now });
    expect(messages).toHaveLength(2);
    for (const m of messages) expect(m.blocks.length).toBeLessThanOrEqual(50);
    expect(messages[0]!.blocks[0]).toMatchObject({
      text: { text: `${ITEMS_PER_MESSAGE} old keys stop working soon` },
    });
    expect(JSON.stringify(messages[0]!.blocks[1])).toContain('key-44');
  });
});

describe('a notice carries the old key’s use', () => {
  const keyIds = {
    keyId: '10000000-0000-4000-8000-000000000001',
    currentSecretId: '20000000-0000-4000-8000-000000000002',
    oldSecretId: '30000000-0000-4000-8000-000000000003',
  };
  const use = (minutesAgo: number | null, lastHour: number) => ({
    lastUsedAt: minutesAgo === null ? null : new Date(now.getTime() - minutesAgo * 60_000),
    lastHour,
    last24h: lastHour,
  });
  const buttons = (m: ReturnType<typeof buildNoticeMessage>) =>
    m.blocks.flatMap((b) => ('accessory' in b && b.accessory ? [b.accessory] : []));

  it('offers End grace now only on a reminder whose old key was not sent for an hour, within Slack’s limits', () => {
    const items = [
      item({ keyName: 'used', use: use(3, 12), ids: keyIds }),
      item({ keyName: 'idle', use: use(61, 0), ids: keyIds }),
      item({ keyName: 'never', use: use(null, 0), ids: keyIds }),
      item({ keyName: 'unknown', ids: keyIds }),
      item({ keyName: 'gone', kind: 'expired', expiresAt: now, use: use(null, 0), ids: keyIds }),
    ];
    const message = buildNoticeMessage(items, { audience: 'channel', now });
    expect(checkMessage(message as unknown as Record<string, unknown>)).toEqual([]);
    const shown = message.blocks.map((b) => JSON.stringify(b));
    const withButton = shown
      .filter((b) => b.includes(ids.home.endGrace))
      .map((b) => /\*(\w+)\*/.exec(b)?.[1]);
    expect(withButton.sort()).toEqual(['idle', 'never']);
    expect(buttons(message)[0]).toMatchObject({ style: 'danger', confirm: { style: 'danger' } });
    expect(message.text).toContain('Still in use:* 12 calls in the last hour');
  });

  it('a full message of keys all offering End grace stays within Slack’s limits', () => {
    const items = Array.from({ length: ITEMS_PER_MESSAGE }, (_, i) =>
      item({ keyName: `k-${i}-${'n'.repeat(60)}`, use: use(null, 0), ids: keyIds }),
    );
    const message = buildNoticeMessage(items, { audience: 'dm', now });
    expect(buttons(message)).toHaveLength(ITEMS_PER_MESSAGE);
    expect(checkMessage(message as unknown as Record<string, unknown>)).toEqual([]);
  });
});
