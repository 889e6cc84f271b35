import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  renderBlock,
  renderBlocks,
  renderMrkdwn,
  UnknownBlockError,
} from '../../src/local/public/block-kit.js';
import type { KeySummary } from '../../src/services/types.ts';
import { buildDeleteKeyModal } from '../../src/slack/blocks/delete-key-modal.ts';
import { buildEditKeyModal } from '../../src/slack/blocks/edit-key-modal.ts';
import { buildHistoryModal } from '../../src/slack/blocks/history-modal.ts';
import { buildHomeView } from '../../src/slack/blocks/home-view.ts';
import {
  buildEndGraceNotice,
  buildErrorMessage,
  buildHelpMessage,
  buildKeyCreatedNotice,
  buildKeyDeletedNotice,
  buildKeyEditedNotice,
  buildNewKeyMessage,
  buildRotationNotice,
} from '../../src/slack/blocks/messages.ts';
import { buildNewKeyModal } from '../../src/slack/blocks/new-key-modal.ts';
import { buildNoticeMessages } from '../../src/slack/blocks/notice-message.ts';
import { buildNoticeModal } from '../../src/slack/blocks/notice-modal.ts';
import { buildCreatedKeyModal, buildRevealModal } from '../../src/slack/blocks/reveal-modal.ts';
import { buildReviewModal } from '../../src/slack/blocks/review-modal.ts';
import { buildRotateKeyModal } from '../../src/slack/blocks/rotate-key-modal.ts';

const now = new Date('2026-03-01T12:00:00Z');
const hours = (n: number) => new Date(now.getTime() + n * 3_600_000);
const secret = (id: string, expiresAt: Date | null) => ({
  id,
  display: `rk_live_${id.padEnd(4, 'x')}…wxyz`,
  createdAt: now,
  expiresAt,
});
const key = (name: string, inGrace: number): KeySummary => ({
  id: `00000000-0000-4000-8000-${name.padStart(12, '0').slice(-12)}`,
  name,
  products: ['payments', 'refunds'],
  maintainers: ['U0ADA'],
  alertChannel: 'C0ALERTS',
  rotateEveryDays: null,
  createdAt: now,
  lastRotatedAt: inGrace ? now : null,
  rotateEvery: null,
  rotationDueAt: null,
  overdue: false,
  current: secret('cur', null),
  inGrace: Array.from({ length: inGrace }, (_, i) => secret(`old${i}`, hours(i + 1))),
});
const token = 'rk_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123454gfFC3';

/** Every builder the bot has, in the states that change which blocks it emits. */
const outputs: Array<[string, { blocks?: readonly unknown[] }]> = [
  [
    'rotate modal, several keys',
    buildRotateKeyModal({ keys: [key('a', 0), key('b', 1)], privateMetadata: '' }),
  ],
  [
    'rotate modal, one key preselected',
    buildRotateKeyModal({ keys: [key('a', 0)], selectedKeyId: key('a', 0).id, privateMetadata: '' }),
  ],
  [
    'review modal, 24h',
    buildReviewModal({ key: key('a', 0), delay: '24h', expiresAt: hours(24), privateMetadata: '{}' }),
  ],
  [
    'review modal, now',
    buildReviewModal({ key: key('a', 0), delay: 'now', expiresAt: now, privateMetadata: '{}' }),
  ],
  [
    'reveal modal',
    buildRevealModal({
      keyName: 'a',
      token,
      oldKeyDisplay: 'rk_live_AbCd…wxyz',
      oldKeyExpiresAt: hours(3),
      delay: '3h',
    }),
  ],
  ['notice modal', buildNoticeModal({ title: 'Cannot rotate', text: 'You are not a maintainer.' })],
  [
    'history modal',
    buildHistoryModal({
      keyName: 'a',
      events: [
        {
          action: 'create',
          actor: 'cli:root',
          source: 'cli',
          delay: null,
          oldSecretDisplay: null,
          newSecretDisplay: 'rk_live_a…b',
          at: now,
        },
        {
          action: 'rotate',
          actor: 'U0ADA',
          source: 'slack',
          delay: '1h',
          oldSecretDisplay: 'rk_live_a…b',
          newSecretDisplay: 'rk_live_c…d',
          at: hours(1),
        },
        {
          action: 'end_grace',
          actor: 'U0ADA',
          source: 'slack',
          delay: null,
          oldSecretDisplay: 'rk_live_a…b',
          newSecretDisplay: null,
          at: hours(2),
        },
      ],
    }),
  ],
  ['home, empty', buildHomeView({ keys: [], page: 0, now, isAdmin: false })],
  ['home, empty, admin', buildHomeView({ keys: [], page: 0, now, isAdmin: true })],
  ['new key modal', buildNewKeyModal()],
  ['edit modal, admin', buildEditKeyModal({ key: key('a', 1), isAdmin: true, privateMetadata: '{}' })],
  ['edit modal, maintainer', buildEditKeyModal({ key: key('a', 0), isAdmin: false, privateMetadata: '{}' })],
  ['delete modal', buildDeleteKeyModal({ key: key('a', 2), privateMetadata: '{}' })],
  ['created key modal', buildCreatedKeyModal({ keyName: 'a', token })],
  [
    'key created notice',
    buildKeyCreatedNotice({
      keyName: 'a',
      actorId: 'U0LINUS',
      products: ['x'],
      maintainers: ['U0ADA'],
      rotateEveryDays: 90,
    }),
  ],
  [
    'key edited notice',
    buildKeyEditedNotice({
      keyName: 'b',
      actorId: 'U0LINUS',
      before: { name: 'a', maintainers: ['U0ADA'], alertChannel: null, rotateEveryDays: null },
      after: { name: 'b', maintainers: ['U0ADA', 'U0GRACE'], alertChannel: 'C0ALERTS', rotateEveryDays: 30 },
    }),
  ],
  ['key deleted notice', buildKeyDeletedNotice({ keyName: 'a', actorId: 'U0LINUS', deletedAt: now })],
  ['home, keys in grace', buildHomeView({ keys: [key('a', 2), key('b', 0)], page: 0, now, isAdmin: false })],
  [
    'home, paged',
    buildHomeView({
      keys: Array.from({ length: 45 }, (_, i) => key(`k${i}`, i % 3)),
      page: 1,
      now,
      isAdmin: true,
    }),
  ],
  ['help message', buildHelpMessage()],
  ['error message', buildErrorMessage('Something went wrong.')],
  ['new key message', buildNewKeyMessage({ keyName: 'a', token })],
  [
    'rotation notice',
    buildRotationNotice({
      keyName: 'a',
      actorId: 'U0ADA',
      oldKeyDisplay: 'rk_live_a…b',
      oldKeyExpiresAt: hours(24),
      delay: '24h',
    }),
  ],
  [
    'end-grace notice',
    buildEndGraceNotice({ keyName: 'a', actorId: 'U0ADA', endedDisplays: ['rk_live_a…b'], endedAt: now }),
  ],
  ...buildNoticeMessages(
    [
      { kind: 'reminder' as const, keyName: 'a', oldDisplay: 'rk_live_a…b', expiresAt: hours(1) },
      { kind: 'expired' as const, keyName: 'b', oldDisplay: 'rk_live_c…d', expiresAt: now },
    ],
    { audience: 'channel', now },
  ).map((m, i): [string, { blocks?: readonly unknown[] }] => [`scheduler notice ${i}`, m]),
];

type Json = Record<string, unknown>;
type TextObject = { type: string; text: string };

const count = (html: string, fragment: string) => html.split(fragment).length - 1;

/** What a reader sees of an HTML fragment: its text, tags dropped and entities read. */
const visibleText = (html: string) =>
  html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

/**
 * The words a text object must show: its words of four letters or more, leaving out what Slack itself
 * turns into something else (`<…>` mentions, dates and links, `:emoji:` shortcodes).
 */
const wordsOf = (text: TextObject | undefined) =>
  (text?.text ?? '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/:[a-z0-9_+-]+:/g, ' ')
    .match(/[A-Za-z]{4,}/g) ?? [];

/** Every text object a block holds, wherever Block Kit puts one. */
function textsOf(block: Json): TextObject[] {
  const texts: TextObject[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    const object = value as Json;
    if ((object.type === 'plain_text' || object.type === 'mrkdwn') && typeof object.text === 'string') {
      texts.push(object as TextObject);
      return;
    }
    // A confirm dialog travels as data for the page to show when pressed, and a text input's
    // placeholder as its attribute, not as text (both checked with their element).
    for (const [name, inner] of Object.entries(object)) {
      if (name !== 'confirm' && name !== 'placeholder') visit(inner);
    }
  };
  visit(block);
  return texts;
}

/** What each element must look like on the page: its own control, named by its action id. */
function expectElement(element: Json, html: string) {
  const where = `${element.type} ${element.action_id}`;
  expect(html, where).toContain(`data-action-id="${element.action_id}"`);
  const options = (element.options as Json[] | undefined) ?? [];
  switch (element.type) {
    case 'button':
      expect(html, where).toMatch(new RegExp(`<button [^>]*data-action-id="${element.action_id}"`));
      if (element.value !== undefined)
        expect(html, where).toContain(`data-value="${escapeHtml(element.value)}"`);
      if (element.style) expect(html, where).toContain(`bk-button-${element.style}`);
      return;
    case 'radio_buttons':
    case 'checkboxes': {
      const input = element.type === 'radio_buttons' ? 'radio' : 'checkbox';
      expect(count(html, `type="${input}"`), where).toBe(options.length);
      const initial = [element.initial_option, ...((element.initial_options as unknown[]) ?? [])].filter(
        Boolean,
      );
      expect(count(html, ' checked'), where).toBe(initial.length);
      return;
    }
    case 'static_select':
      expect(count(html, '<option'), where).toBe(options.length + 1);
      expect(count(html, ' selected'), where).toBe(element.initial_option ? 1 : 0);
      return;
    case 'plain_text_input':
      expect(html, where).toMatch(
        element.multiline ? /<textarea class="bk-text-input"/ : /<input class="bk-text-input"/,
      );
      if (element.initial_value) expect(html, where).toContain(escapeHtml(element.initial_value));
      if (element.placeholder)
        expect(html, where).toContain(
          `placeholder="${escapeHtml((element.placeholder as TextObject).text)}"`,
        );
      return;
    case 'multi_users_select':
      expect(html, where).toContain('<select multiple');
      expect(count(html, ' selected'), where).toBe(
        (element.initial_users as string[] | undefined)?.length ?? 0,
      );
      return;
    case 'conversations_select':
      expect(html, where).toContain('<select class="bk-select"');
      expect(count(html, ' selected'), where).toBe(element.initial_conversation ? 1 : 0);
      return;
    default:
      throw new Error(`no expectation for element type ${element.type}: add one`);
  }
}

/**
 * What each block type must look like on the page — its own markup, each of its parts, every word of
 * its text — so that a block rendered empty, cut short or as the wrong thing fails.
 */
function expectRendered(block: Json, html: string) {
  const where = JSON.stringify(block).slice(0, 200);
  const shown = visibleText(html);
  for (const word of textsOf(block).flatMap(wordsOf)) expect(shown, where).toContain(word);
  const elements = (block.elements as Json[] | undefined) ?? [];
  switch (block.type) {
    case 'header':
      expect(html, where).toMatch(/^<h2 class="bk-header">.+<\/h2>$/);
      return;
    case 'divider':
      expect(html, where).toBe('<hr class="bk-divider">');
      return;
    case 'section': {
      expect(html, where).toMatch(/^<section class="bk-section"/);
      expect(count(html, 'class="bk-field"'), where).toBe(
        (block.fields as unknown[] | undefined)?.length ?? 0,
      );
      if (block.accessory) expectElement(block.accessory as Json, html);
      return;
    }
    case 'context':
      expect(html, where).toMatch(/^<div class="bk-context">/);
      expect(count(html, '<span>') + count(html, '<img'), where).toBe(elements.length);
      return;
    case 'actions':
      expect(html, where).toMatch(new RegExp(`^<div class="bk-actions" data-block-id="${block.block_id}">`));
      for (const element of elements) expectElement(element, html);
      expect(count(html, '<button'), where).toBe(elements.filter((e) => e.type === 'button').length);
      return;
    case 'input':
      expect(html, where).toMatch(new RegExp(`^<div class="bk-input" data-block-id="${block.block_id}">`));
      expect(html, where).toContain(
        `<label class="bk-label">${escapeHtml((block.label as TextObject).text)}`,
      );
      expect(html.includes('(optional)'), where).toBe(Boolean(block.optional));
      expectElement(block.element as Json, html);
      return;
    default:
      throw new Error(`no expectation for block type ${block.type}: add one`);
  }
}

describe('the local page renders what the bot emits', () => {
  it.each(outputs)('renders every block of: %s', (_name, output) => {
    expect(output.blocks?.length).toBeGreaterThan(0);
    for (const block of output.blocks ?? []) expectRendered(block as Json, renderBlock(block, { now }));
  });

  it('offers the workspace’s people and channels in user and conversation selects, with the key’s own chosen', () => {
    const [, , maintainers, channel] = buildEditKeyModal({
      key: { ...key('a', 0), maintainers: ['U0ADA', 'UELSEWHERE'], alertChannel: 'C0ALERTS' },
      isAdmin: true,
      privateMetadata: '{}',
    }).blocks;
    const ctx = {
      users: [
        { id: 'U0ADA', name: 'Ada' },
        { id: 'U0GRACE', name: 'Grace' },
      ],
      channels: [
        { id: 'C0GENERAL', name: 'general' },
        { id: 'C0ALERTS', name: 'api-key-alerts' },
      ],
      userName: (id: string) => (id === 'U0ADA' ? 'Ada' : id),
    };
    const people = renderBlock(maintainers, ctx);
    expect(people).toContain('<select multiple');
    expect(people).toContain('<option value="U0ADA" selected>@Ada</option>');
    expect(people).toContain('<option value="U0GRACE">@Grace</option>');
    // Someone outside the demo directory who already maintains the key stays chosen.
    expect(people).toContain('<option value="UELSEWHERE" selected>@UELSEWHERE</option>');
    const channels = renderBlock(channel, ctx);
    expect(channels).toContain('<option value="C0ALERTS" selected>#api-key-alerts</option>');
    expect(channels).toContain('<option value="C0GENERAL">#general</option>');
  });

  it('fails loudly on a block or element type it does not know, rather than dropping it', () => {
    expect(() => renderBlock({ type: 'video', title: 'x' })).toThrow(UnknownBlockError);
    expect(() =>
      renderBlock({ type: 'actions', elements: [{ type: 'datepicker', action_id: 'd' }] }),
    ).toThrow(UnknownBlockError);
    expect(() => renderBlock({ type: 'section', text: { type: 'markdown', text: 'x' } })).toThrow(
      UnknownBlockError,
    );
  });

  it('escapes text from views, so a key name cannot inject markup', () => {
    const html = renderBlocks([
      { type: 'section', text: { type: 'plain_text', text: '<img src=x onerror=alert(1)>' } },
    ]);
    expect(html).not.toContain('<img');
    expect(html).toContain(escapeHtml('<img src=x onerror=alert(1)>'));
    expect(renderMrkdwn('*bold* <https://example.com|a link> &lt;tag&gt;')).toBe(
      '<b>bold</b> <a href="https://example.com" target="_blank" rel="noopener noreferrer">a link</a> &lt;tag&gt;',
    );
  });

  it('renders <!date^…> in the reader\u2019s time zone, with the fallback kept as a title', () => {
    const html = renderMrkdwn('<!date^1772366400^{date_num} {time}|2026-03-01 12:00 UTC>');
    expect(html).toMatch(
      /<time class="bk-date" datetime="2026-03-01T12:00:00.000Z" title="2026-03-01 12:00 UTC">2026-03-01 /,
    );
  });

  it('renders input errors under their block, as Slack does for response_action errors', () => {
    const html = renderBlocks(
      [
        {
          type: 'input',
          block_id: 'ack',
          label: { type: 'plain_text', text: 'Confirm' },
          element: {
            type: 'checkboxes',
            action_id: 'c',
            options: [{ text: { type: 'plain_text', text: 'I understand' }, value: 'y' }],
          },
        },
      ],
      { errors: { ack: 'Please confirm.' } },
    );
    expect(html).toContain('bk-input-invalid');
    expect(html).toContain('<div class="bk-error" role="alert">Please confirm.</div>');
  });
});
