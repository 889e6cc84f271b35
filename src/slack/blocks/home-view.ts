import type { ActionsBlock, Button, HomeView, KnownBlock, SectionBlock } from '@slack/types';
import { sparkline, type UseSummary } from '../../keys/usage.ts';
import type { SecretClients } from '../../services/client-uses.ts';
import type { KeySummary, SecretView } from '../../services/types.ts';
import type { UnrotatedLeak } from '../../services/unrotated-leaks.ts';
import { encodeEndGraceValue } from '../end-grace-value.ts';
import { ids } from '../ids.ts';
import { canaryCard } from './canary-card.ts';
import { cardActions, manageButtons } from './card-buttons.ts';
import { stillUsedBy } from './client-phrase.ts';
import { leakPlace } from './leak-messages.ts';
import { cardPolicyLine } from './policy-phrase.ts';
import { slackDate, timeUntil } from './slack-time.ts';
import { clip, escapeMrkdwn, mrkdwn, plain } from './text.ts';
import { describeUse, timeAgo, useStateOf } from './use-phrase.ts';

/**
 * Cards per page. A card is at most 4 blocks (summary, old keys, buttons, divider), the page frame 6
 * (header, admins' New key…, context, divider, pager, its context): 20 × 4 + 6 = 86, inside Slack's
 * 100 for a Home tab.
 */
export const KEYS_PER_PAGE = 20;
/** Old keys listed on one card; a key rotated many times within its grace period shows a count for the rest. */
const MAX_OLD_KEYS_SHOWN = 5;

export interface HomeInput {
  keys: KeySummary[];
  /** Zero-based; out-of-range pages show the nearest one (a Home published before keys went away). */
  page: number;
  now: Date;
  isAdmin: boolean;
  /** Each shown secret's use, by secret id; a secret missing here reads "never used". */
  uses?: ReadonlyMap<string, UseSummary>;
  /** Keys reported leaked and not rotated since, by key id: their card says so in red. */
  leaks?: ReadonlyMap<string, UnrotatedLeak>;
  /** Canaries' last tries, by key id (never tried: absent). */
  canaryTries?: ReadonlyMap<string, Date>;
  /** Old secrets' clients seen within the last hour, by secret id: "still used by …" under the old key. */
  clients?: ReadonlyMap<string, SecretClients>;
  /** Old secrets rekey told people every client had moved off, and when: used again since → said so. */
  cutovers?: ReadonlyMap<string, Date>;
}

type Uses = ReadonlyMap<string, UseSummary>;

/** What a card shows about who still sends its old keys. */
interface OldKeyFacts {
  clients: ReadonlyMap<string, SecretClients>;
  cutovers: ReadonlyMap<string, Date>;
}

/** Keys in grace first (the one that stops soonest on top), then the others by name. */
export function orderForHome(keys: readonly KeySummary[]): KeySummary[] {
  const soonest = (k: KeySummary) => k.inGrace[0]?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return [...keys].sort((a, b) => {
    const inGrace = Number(b.inGrace.length > 0) - Number(a.inGrace.length > 0);
    if (inGrace !== 0) return inGrace;
    return soonest(a) - soonest(b) || a.name.localeCompare(b.name);
  });
}

export function pageCount(keyCount: number): number {
  return Math.max(1, Math.ceil(keyCount / KEYS_PER_PAGE));
}

export function clampPage(page: number, keyCount: number): number {
  if (!Number.isInteger(page) || page < 0) return 0;
  return Math.min(page, pageCount(keyCount) - 1);
}

/**
 * The user's App Home: a card per key they may manage, a page at a time. Shows key
 * display forms only — never a key string — and puts only key and secret ids and page numbers in values.
 */
export function buildHomeView(input: HomeInput): HomeView {
  if (input.keys.length === 0) {
    return { type: 'home', blocks: input.isAdmin ? adminEmptyState() : emptyState() };
  }
  const ordered = orderForHome(input.keys);
  const page = clampPage(input.page, ordered.length);
  const pages = pageCount(ordered.length);
  const first = page * KEYS_PER_PAGE;
  const shown = ordered.slice(first, first + KEYS_PER_PAGE);
  const blocks: KnownBlock[] = [{ type: 'header', text: plain('Your API keys') }];
  if (input.isAdmin) blocks.push(adminActions());
  blocks.push(
    { type: 'context', elements: [mrkdwn(summaryLine(ordered, input.isAdmin))] },
    { type: 'divider' },
  );
  const facts: OldKeyFacts = { clients: input.clients ?? new Map(), cutovers: input.cutovers ?? new Map() };
  for (const key of shown) {
    blocks.push(
      ...(key.canary
        ? canaryCard(key, input.isAdmin, input.canaryTries?.get(key.id))
        : keyCard(key, input.now, input.uses ?? new Map(), input.isAdmin, input.leaks?.get(key.id), facts)),
    );
  }
  if (pages > 1) {
    blocks.push(pager(page, pages));
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `Page ${page + 1} of ${pages} · keys ${first + 1}–${first + shown.length} of ${ordered.length}`,
        ),
      ],
    });
  }
  return { type: 'home', blocks };
}

function emptyState(): KnownBlock[] {
  return [
    { type: 'header', text: plain('Your API keys') },
    {
      type: 'section',
      text: mrkdwn(
        ':key: *You do not maintain any API key yet*, so there is nothing to rotate here. Ask a key’s maintainer or a rekey admin to add you as a maintainer; your keys then appear here with their Rotate, End grace and History buttons.',
      ),
    },
    {
      type: 'context',
      elements: [mrkdwn('`/rotate-key help` explains how rotation works.')],
    },
  ];
}

/** Admins' tools above the cards. */
function adminActions(): ActionsBlock {
  return {
    type: 'actions',
    block_id: ids.home.adminBlock,
    elements: [{ type: 'button', action_id: ids.home.newKey, text: plain('New key…'), style: 'primary' }],
  };
}

function adminEmptyState(): KnownBlock[] {
  return [
    { type: 'header', text: plain('Your API keys') },
    adminActions(),
    {
      type: 'section',
      text: mrkdwn(
        ':key: *There are no API keys yet.* As a rekey admin you can create one with *New key…*: choose its name, products, maintainers, alert channel and rotation policy, and copy the key it shows you once.',
      ),
    },
  ];
}

function summaryLine(keys: KeySummary[], isAdmin: boolean): string {
  const inGrace = keys.filter((k) => k.inGrace.length > 0).length;
  const count = `${keys.length} key${keys.length === 1 ? '' : 's'}`;
  const whose = isAdmin ? `You are a rekey admin: all ${count}` : `You maintain ${count}`;
  const grace = inGrace > 0 ? ` · :hourglass_flowing_sand: ${inGrace} in a grace period, listed first` : '';
  return `${whose}${grace}.`;
}

function keyCard(
  key: KeySummary,
  now: Date,
  uses: Uses,
  isAdmin: boolean,
  leak: UnrotatedLeak | undefined,
  facts: OldKeyFacts,
): KnownBlock[] {
  const name = escapeMrkdwn(key.name);
  const products = key.products.length > 0 ? key.products.map(escapeMrkdwn).join(', ') : '_none_';
  const channel = key.alertChannel ? `<#${key.alertChannel}>` : '_none_';
  const inGrace = key.inGrace.length > 0;
  const current = key.current
    ? `\`${key.current.display}\`\n${describeUse(uses.get(key.current.id), now)}${inGrace ? dayLine(uses.get(key.current.id)) : ''}`
    : '_none_';
  const rotated = key.lastRotatedAt ? slackDate(key.lastRotatedAt) : '_never rotated_';
  const summary: SectionBlock = {
    type: 'section',
    text: mrkdwn(
      `*${name}*${inGrace ? '  :hourglass_flowing_sand: _grace period_' : ''}${leak ? `\n${leakLine(leak, now)}` : ''}\n${cardPolicyLine(key, now)}`,
    ),
    fields: [
      mrkdwn(`*Products*\n${products}`),
      mrkdwn(`*Alert channel*\n${channel}`),
      mrkdwn(`*${inGrace ? 'New key' : 'Current key'}*\n${current}`),
      mrkdwn(`*Last rotated*\n${rotated}`),
    ],
  };
  const blocks: KnownBlock[] = [summary];
  if (inGrace)
    blocks.push({ type: 'section', text: mrkdwn(clip(oldKeysText(key.inGrace, now, uses, facts))) });
  blocks.push(cardButtons(key, isAdmin), { type: 'divider' });
  return blocks;
}

/**
 * In the card's title section, not a block of its own: a card stays within its 4 blocks. Shown while
 * the leaked secret still works: the current key (rotate it), or an old key a delayed rotation left
 * working (end it: the leak message's End this key now…).
 */
function leakLine(leak: UnrotatedLeak, now: Date): string {
  const where = `Reported leaked ${leakPlace(leak)} at ${slackDate(leak.reportedAt)}`;
  if (leak.leakedExpiresAt === null) return `:rotating_light: *${where} — not rotated since.* Rotate it now.`;
  return `:rotating_light: *${where}: the leaked old key \`${leak.leakedDisplay}\` still works until ${slackDate(leak.leakedExpiresAt)} (${timeUntil(leak.leakedExpiresAt, now)}).* End it now (End this key now… on the leak's messages), or wait for its grace period to run out.`;
}

/**
 * During a grace period, each key's last 24 hours as a sparkline in its usage line (oldest to newest,
 * each scaled to its own busiest hour), so the old key's fading reads against the new one's rise.
 */
function dayLine(use: UseSummary | undefined): string {
  const hourly = use?.hourly;
  return hourly?.some((n) => n > 0) ? ` · 24 h \`${sparkline(hourly)}\`` : '';
}

function oldKeysText(inGrace: SecretView[], now: Date, uses: Uses, facts: OldKeyFacts): string {
  const lines = inGrace.slice(0, MAX_OLD_KEYS_SHOWN).map((secret) => {
    const at = secret.expiresAt ?? now;
    const use = uses.get(secret.id);
    const line = `\`${secret.display}\` still works; it stops ${slackDate(at)} (${timeUntil(at, now)}) · ${describeUse(use, now)}${dayLine(use)}`;
    const more: string[] = [];
    const clients = facts.clients.get(secret.id);
    if (clients && useStateOf(use, now) === 'used') more.push(`    ↳ ${stillUsedBy(clients, now)}`);
    const toldAt = facts.cutovers.get(secret.id);
    if (toldAt && use?.lastUsedAt && use.lastUsedAt > toldAt) {
      more.push(
        `    :warning: *Used again* ${timeAgo(use.lastUsedAt, now)}, after rekey said every client had moved (${slackDate(toldAt)}): something still has this old key.`,
      );
    }
    return [line, ...more].join('\n');
  });
  const more = inGrace.length - MAX_OLD_KEYS_SHOWN;
  if (more > 0) lines.push(`…and ${more} more old key${more === 1 ? '' : 's'} still working`);
  const title = inGrace.length === 1 ? '*Old key*' : '*Old keys*';
  // Nothing has sent an old key for an hour: every client moved, and ending the grace now only closes
  // a door nobody uses.
  if (inGrace.every((secret) => useStateOf(uses.get(secret.id), now) !== 'used')) {
    const which = inGrace.length === 1 ? 'the old key has' : 'no old key has';
    lines.push(
      `:white_check_mark: *The move looks done:* ${which} been presented for an hour. *End grace now* below stops ${inGrace.length === 1 ? 'it' : 'them'} at once.`,
    );
  }
  return `${title}\n${lines.join('\n')}`;
}

/** Every card: Rotate…, End grace now (in grace), History, Edit…; admins' also Delete…. */
function cardButtons(key: KeySummary, isAdmin: boolean): ActionsBlock {
  const rotate: Button = {
    type: 'button',
    action_id: ids.home.rotate,
    text: plain('Rotate…'),
    value: key.id,
  };
  const elements: Button[] = [rotate];
  if (key.inGrace.length > 0) elements.push(endGraceButton(key));
  return cardActions(key.id, [...elements, ...manageButtons(key.id, isAdmin)]);
}

function endGraceButton(key: KeySummary): Button {
  // Slack caps a confirm dialog's text at 300 characters: name the old keys only when there are few.
  const n = key.inGrace.length;
  const which =
    n <= 2
      ? `old key${n === 1 ? '' : 's'} ${key.inGrace.map((s) => `\`${s.display}\``).join(' and ')}`
      : `${n} old keys`;
  return {
    type: 'button',
    action_id: ids.home.endGrace,
    text: plain('End grace now'),
    style: 'danger',
    value: encodeEndGraceValue(key),
    confirm: {
      title: plain('End the grace period?'),
      text: mrkdwn(
        `The ${which} of *${escapeMrkdwn(key.name)}* will stop working *immediately*; anything still using ${n === 1 ? 'it' : 'them'} fails at once. This cannot be undone.`,
      ),
      confirm: plain('End grace now'),
      deny: plain('Cancel'),
      style: 'danger',
    },
  };
}

function pager(page: number, pages: number): ActionsBlock {
  const elements: Button[] = [];
  if (page > 0) {
    elements.push({
      type: 'button',
      action_id: ids.home.previousPage,
      text: plain('← Previous'),
      value: String(page - 1),
    });
  }
  if (page < pages - 1) {
    elements.push({
      type: 'button',
      action_id: ids.home.nextPage,
      text: plain('Next →'),
      value: String(page + 1),
    });
  }
  return { type: 'actions', block_id: ids.home.pagerBlock, elements };
}
