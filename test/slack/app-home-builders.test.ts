import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { checkMessage, checkView } from '../../src/fake-slack/block-kit-limits.ts';
import type { UseSummary } from '../../src/keys/usage.ts';
import type { KeySummary, SecretView } from '../../src/services/types.ts';
import { buildDeleteKeyModal } from '../../src/slack/blocks/delete-key-modal.ts';
import { buildEditKeyModal } from '../../src/slack/blocks/edit-key-modal.ts';
import { buildHistoryModal } from '../../src/slack/blocks/history-modal.ts';
import { buildHomeView, KEYS_PER_PAGE } from '../../src/slack/blocks/home-view.ts';
import { buildKeyEditedNotice } from '../../src/slack/blocks/messages.ts';
import { buildNewKeyModal } from '../../src/slack/blocks/new-key-modal.ts';
import { ids } from '../../src/slack/ids.ts';

const now = new Date('2026-01-15T10:00:00Z');
const HOUR = 3_600_000;
/** What the local-mode page renders (src/local/public/block-kit.js); App Home must not need more. */
const RENDERED = new Set(['header', 'section', 'divider', 'context', 'input', 'actions', 'rich_text']);

const secret = (i: number, expiresInMs: number | null): SecretView => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  display: `rk_live_Ab${String(i % 100).padStart(2, '0')}…wxyz`,
  createdAt: now,
  expiresAt: expiresInMs === null ? null : new Date(now.getTime() + expiresInMs),
});

/** The biggest card there can be: longest name, many products, several old keys in grace. */
function bigKey(i: number): KeySummary {
  return {
    id: `10000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `${String(i).padStart(3, '0')}${'n'.repeat(61)}`,
    products: Array.from({ length: 20 }, (_, p) => `product-${p}-${'p'.repeat(40)}`),
    maintainers: ['U1'],
    alertChannel: 'CALERTS',
    rotateEveryDays: null,
    createdAt: now,
    lastRotatedAt: now,
    // The longest policy line a card can carry: overdue by years.
    rotateEvery: '730d',
    rotationDueAt: new Date(now.getTime() - 700 * 24 * HOUR),
    overdue: true,
    current: secret(i * 10, null),
    inGrace: Array.from({ length: 8 }, (_, g) => secret(i * 10 + g + 1, (g + 1) * HOUR)),
  };
}

describe('buildHomeView', () => {
  it('stays within Slack’s limits on every page, even with the biggest cards', () => {
    const keys = Array.from({ length: 250 }, (_, i) => bigKey(i));
    for (let page = 0; page < Math.ceil(250 / KEYS_PER_PAGE); page++) {
      const view = buildHomeView({ keys, page, now, isAdmin: true });
      expect(view.blocks.length).toBeLessThanOrEqual(100);
      expect(checkView(view)).toEqual([]);
      for (const block of view.blocks) expect(RENDERED.has(block.type)).toBe(true);
      const confirms = view.blocks
        .filter((b): b is Extract<KnownBlock, { type: 'actions' }> => b.type === 'actions')
        .flatMap((b) => b.elements)
        .flatMap((e) => ('confirm' in e && e.confirm ? [e.confirm] : []));
      for (const confirm of confirms) {
        expect(confirm.text.text.length).toBeLessThanOrEqual(300);
        expect(confirm.style).toBe('danger');
      }
    }
  });

  it('shows the nearest page when asked for one past the end, and no pager for one page', () => {
    const keys = Array.from({ length: 3 }, (_, i) => bigKey(i));
    const view = buildHomeView({ keys, page: 7, now, isAdmin: false });
    expect(view.blocks.filter((b) => b.block_id?.startsWith(ids.home.cardBlockPrefix))).toHaveLength(3);
    expect(view.blocks.some((b) => b.block_id === ids.home.pagerBlock)).toBe(false);
  });
});

describe('buildHistoryModal', () => {
  it('keeps the latest events within 100 blocks and says where the rest are', () => {
    const events = Array.from({ length: 300 }, (_, i) => ({
      action: 'rotate',
      actor: 'U1',
      source: 'slack',
      delay: '24h',
      oldSecretDisplay: `rk_live_old${i}`,
      newSecretDisplay: `rk_live_new${i}`,
      at: new Date(now.getTime() + i * HOUR),
    }));
    const view = buildHistoryModal({ keyName: 'k', events });
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(checkView(view)).toEqual([]);
    const text = JSON.stringify(view);
    expect(text).toContain('rk_live_new299');
    expect(text).not.toContain('rk_live_new0`');
    expect(text).toContain('rekey keys audit k');
  });
});

describe('the card shows whether each key is still used', () => {
  const MIN = 60_000;
  const key = (inGrace: SecretView[]): KeySummary => ({
    ...bigKey(1),
    products: ['payments'],
    current: secret(100, null),
    inGrace,
  });
  const old = secret(101, 3 * HOUR);
  const cardText = (uses: Map<string, UseSummary>, inGrace: SecretView[] = [old]) =>
    JSON.stringify(buildHomeView({ keys: [key(inGrace)], page: 0, now, isAdmin: false, uses }));
  const used = (id: string, minutesAgo: number, lastHour: number): [string, UseSummary] => [
    id,
    { lastUsedAt: new Date(now.getTime() - minutesAgo * MIN), lastHour, last24h: lastHour },
  ];

  it('says when the old key was last used and how often in the last hour, and offers nothing early', () => {
    const text = cardText(new Map([used(old.id, 3, 1204)]));
    expect(text).toContain('last used 3 min ago · 1\u00a0204 calls in the last hour');
    expect(text).not.toContain('looks done');
  });

  it('says since when an old key idle for an hour was not used, and that the move looks done', () => {
    const lastUse = new Date(now.getTime() - 2 * HOUR - 18 * MIN);
    const text = cardText(new Map([used(old.id, 138, 0)]));
    expect(text).toContain(
      `not used since <!date^${lastUse.getTime() / 1000}^{date_short_pretty} at {time}|2026-01-15 07:42 UTC> (2 hours 18 minutes)`,
    );
    expect(text).toContain('The move looks done');
    expect(text).toContain(ids.home.endGrace);
  });

  it('says an old key that was never presented was never used, and that the move looks done', () => {
    const text = cardText(new Map());
    expect(text).toMatch(/still works; it stops [^"]* · never used/);
    expect(text).toContain('The move looks done');
  });

  it('does not call the move done while one of several old keys is still sent', () => {
    const older = secret(102, HOUR);
    const text = cardText(new Map([used(old.id, 3, 5)]), [older, old]);
    expect(text).toContain('never used');
    expect(text).not.toContain('looks done');
  });

  it('shows the current key’s use too', () => {
    const text = cardText(new Map([used(secret(100, null).id, 0.5, 1)]));
    expect(text).toContain('rk_live_Ab00…wxyz`\\nlast used less than a minute ago · 1 call in the last hour');
  });
});

describe('the key management dialogs', () => {
  const biggest = {
    ...bigKey(1),
    maintainers: Array.from({ length: 100 }, (_, i) => `U${String(i).padStart(10, '0')}`),
    rotateEveryDays: 45,
  };

  it('stay within Slack’s limits for the biggest key, and keep a policy set outside their choices', () => {
    const metadata = JSON.stringify({ keyId: biggest.id, version: 'v'.repeat(22) });
    const views = [
      buildNewKeyModal(),
      buildEditKeyModal({ key: biggest, isAdmin: true, privateMetadata: metadata }),
      buildEditKeyModal({ key: biggest, isAdmin: false, privateMetadata: metadata }),
      buildDeleteKeyModal({ key: biggest, privateMetadata: metadata }),
    ];
    for (const view of views) {
      expect(checkView(view)).toEqual([]);
      for (const block of view.blocks) expect(RENDERED.has(block.type)).toBe(true);
      expect(JSON.stringify(view)).not.toMatch(/rk_live_[0-9A-Za-z]{38}/);
    }
    expect(JSON.stringify(views[1])).toContain(
      '"initial_option":{"text":{"type":"plain_text","text":"Every 45 days"',
    );
    const notice = buildKeyEditedNotice({
      keyName: biggest.name,
      actorId: 'U1',
      before: { maintainers: [], products: [] },
      after: { maintainers: biggest.maintainers, products: biggest.products },
    });
    expect(checkMessage(notice as unknown as Record<string, unknown>)).toEqual([]);
  });

  it('offer an admin with no key yet New key…, and someone else nothing to press', () => {
    const admin = buildHomeView({ keys: [], page: 0, now, isAdmin: true });
    const buttons = admin.blocks
      .filter((b): b is Extract<KnownBlock, { type: 'actions' }> => b.type === 'actions')
      .flatMap((b) => b.elements);
    expect(buttons.map((b) => ('action_id' in b ? b.action_id : ''))).toEqual([ids.home.newKey]);
    expect(JSON.stringify(admin)).toContain('There are no API keys yet');
    const other = buildHomeView({ keys: [], page: 0, now, isAdmin: false });
    expect(other.blocks.some((b) => b.type === 'actions')).toBe(false);
  });
});
