import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkMessage, checkView } from '../../src/fake-slack/block-kit-limits.ts';
import { DELAYS } from '../../src/keys/delay.ts';
import type { KeySummary } from '../../src/services/types.ts';
import {
  buildHelpMessage,
  buildNewKeyMessage,
  buildRotationNotice,
} from '../../src/slack/blocks/messages.ts';
import { buildNoticeModal } from '../../src/slack/blocks/notice-modal.ts';
import { buildRevealModal } from '../../src/slack/blocks/reveal-modal.ts';
import { buildReviewModal } from '../../src/slack/blocks/review-modal.ts';
import { buildRotateKeyModal, MAX_KEY_OPTIONS } from '../../src/slack/blocks/rotate-key-modal.ts';
import { expiryPhrase, slackDate } from '../../src/slack/blocks/slack-time.ts';
import { decodeReviewMetadata, rotationRequestId } from '../../src/slack/modal-state.ts';

const key = (i: number): KeySummary => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: `key-${'x'.repeat(58)}-${String(i).padStart(3, '0')}`,
  products: ['payments'],
  maintainers: ['U1'],
  alertChannel: 'C1',
  rotateEveryDays: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  lastRotatedAt: null,
  rotateEvery: null,
  rotationDueAt: null,
  overdue: false,
  current: { id: 's1', display: 'rk_live_AbCd…wxyz', createdAt: new Date(), expiresAt: null },
  inGrace: [],
});
const at = new Date('2026-01-16T10:00:00Z');

describe('Block Kit builders stay within what Slack accepts', () => {
  it('builds a key picker Slack accepts even for more keys than a select may hold', () => {
    const keys = Array.from({ length: 150 }, (_, i) => key(i));
    const view = buildRotateKeyModal({ keys, selectedKeyId: keys[120]!.id, privateMetadata: '' });
    expect(checkView(view)).toEqual([]);
    expect(JSON.stringify(view)).toContain(`Only the first ${MAX_KEY_OPTIONS} keys are listed`);
  });

  it('builds review, reveal and notice modals with titles and buttons of at most 24 characters', () => {
    const views = [
      buildReviewModal({ key: key(1), delay: '24h', expiresAt: at, privateMetadata: '{}' }),
      ...DELAYS.map((delay) =>
        buildRevealModal({
          keyName: 'k',
          token: 'rk_live_x',
          oldKeyDisplay: 'd',
          oldKeyExpiresAt: at,
          delay,
        }),
      ),
      buildNoticeModal({ title: 'Already rotated', text: 'x' }),
    ];
    for (const view of views) expect(checkView(view)).toEqual([]);
  });

  it('builds messages Slack accepts', () => {
    for (const message of [
      buildHelpMessage(),
      buildNewKeyMessage({ keyName: 'k', token: 'rk_live_x' }),
      buildRotationNotice({
        keyName: 'k',
        actorId: 'U1',
        oldKeyDisplay: 'd',
        oldKeyExpiresAt: at,
        delay: '1h',
      }),
    ]) {
      expect(checkMessage({ ...message })).toEqual([]);
    }
  });

  it('writes times with <!date^…> so each reader sees their own time zone, with a UTC fallback', () => {
    expect(slackDate(at)).toBe('<!date^1768557600^{date_short_pretty} at {time}|2026-01-16 10:00 UTC>');
    expect(expiryPhrase(at, 'now')).toContain('(immediately)');
    expect(expiryPhrase(at, '48h')).toContain('(in 48 hours)');
  });

  it('derives the request id from the view and the user, and rejects metadata it did not write', () => {
    expect(rotationRequestId('V123', 'U1')).toBe('slack:V123:U1');
    expect(decodeReviewMetadata('{"keyId":"k","delay":"5h","acknowledged":true}')).toBeNull();
    expect(decodeReviewMetadata('not json')).toBeNull();
    expect(decodeReviewMetadata('{"keyId":"k","delay":"now","acknowledged":true}')).toEqual({
      keyId: 'k',
      delay: 'now',
      acknowledged: true,
    });
  });
});

describe('manifest.json', () => {
  it('creates the app with the command, App Home, interactivity, events and scopes rekey needs', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../manifest.json', import.meta.url), 'utf8'));
    expect(manifest.features.slash_commands[0]).toMatchObject({
      command: '/rotate-key',
      usage_hint: '[key-name]',
    });
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining(['commands', 'chat:write', 'chat:write.public', 'im:write']),
    );
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
  });
});
