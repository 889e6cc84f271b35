import { describe, expect, it } from 'vitest';
import { TOKEN_LIKE } from '../../src/keys/token.ts';
import {
  buildNoticeMessage,
  buildNoticeMessages,
  ITEMS_PER_MESSAGE,
  type NoticeItem,
} from '../../src/slack/blocks/notice-message.ts';

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
