import type { AnyBlock } from '@slack/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkView } from '../../src/fake-slack/block-kit-limits.ts';
import type { KeySummary } from '../../src/services/types.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { buildHomeView } from '../../src/slack/blocks/home-view.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { rotatedKey, schedulerEra, tick } from '../scheduler/support.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { slackActor } from '../support/test-services.ts';
import { KEY_STRING } from './harness.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const ROTATOR = 'UROTATOR1';
let era = 0;

/**
 * A key rotated from Slack with a 24-hour grace period; 23 hours later (the 1-hour reminder) its old key
 * is still sent by five clients within the last 10 minutes — 30, 20 and 10 calls, then two one-off
 * scripts — and its new key by one service all day.
 */
async function oldKeyStillSent(agents: { first: string } = { first: 'python-requests/2.31' }) {
  era += 1;
  const { clock, services, slack } = await schedulerEra(database, era, Date.UTC(2026, 5, 1));
  const start = clock.now().getTime();
  const key = await rotatedKey(services, '24h', { actor: slackActor(ROTATOR) });
  const shown = await services.showKey({ name: key.name });
  const counter = new UsageCounter();
  const old = counter.slotFor(key.oldSecretId);
  const current = counter.slotFor(shown.current!.id);
  const at = start + 23 * HOUR - 10 * MINUTE;
  const calls = (times: number, ip: string | null, agent: string | null) => {
    for (let i = 0; i < times; i++) counter.record(old, at, false, ip, agent);
  };
  calls(30, '10.0.3.7', agents.first);
  calls(20, '10.0.3.8', 'Go-http-client/1.1');
  calls(10, null, null);
  calls(1, '10.0.3.9', 'cron/1');
  calls(1, '10.0.3.10', 'cron/2');
  for (let h = 0; h < 23; h++)
    counter.record(current, start + h * HOUR + 5 * MINUTE, false, '10.0.4.1', 'billing/3');
  await addUseCounts(database.db, counter.drain());
  clock.set(new Date(start + 23 * HOUR));
  return { clock, services, slack, key };
}

const sectionTexts = (blocks: readonly AnyBlock[]) =>
  blocks.flatMap((b) => {
    if (b.type !== 'section') return [];
    const section = b as { text?: { text: string }; fields?: Array<{ text: string }> };
    return [section.text?.text ?? '', ...(section.fields ?? []).map((f) => f.text)];
  });

const NAMED =
  'still used by 5 clients: `10.0.3.7` python-requests/2.31 — 30 calls, last 10 min ago; ' +
  '`10.0.3.8` Go-http-client/1.1 — 20 calls, last 10 min ago; ' +
  'an unknown client (the gateway passed no address or user agent) — 10 calls, last 10 min ago; and 2 more';

describe('the clients still sending an old key are named where the decision is made', () => {
  it('the card names the top three under the old key, then how many more', async () => {
    const { services, key } = await oldKeyStillSent();
    const home = await services.homeOf(ROTATOR);
    const texts = sectionTexts(buildHomeView({ ...home, page: 0 }).blocks);
    const oldKeys = texts.find((t) => t.includes(key.oldDisplay))!;
    expect(oldKeys).toContain(`\`${key.oldDisplay}\` still works`);
    expect(oldKeys).toContain(`↳ ${NAMED}`);
    for (const text of texts) expect(text).not.toMatch(KEY_STRING);
  });

  it('the card shows both keys’ last 24 hours as a sparkline in their usage lines during the grace period', async () => {
    const { services, key } = await oldKeyStillSent();
    const texts = sectionTexts(buildHomeView({ ...(await services.homeOf(ROTATOR)), page: 0 }).blocks);
    // The new key: a call in each hour since the rotation, none yet in the one that just began.
    expect(texts.find((t) => t.startsWith('*New key*'))).toContain(`· 24 h \`${'█'.repeat(23)}·\``);
    // The old key: all 62 calls 10 minutes before the hour that just began.
    expect(texts.find((t) => t.includes(key.oldDisplay))).toContain(`· 24 h \`${'·'.repeat(22)}█·\``);
  });

  it('the reminder before the old key stops names them too', async () => {
    const { clock, slack, key } = await oldKeyStillSent();
    await tick(database, clock, slack.poster);
    const posts = slack.posts.filter((p) => p.text.includes(key.oldDisplay));
    // The channel and the rotator's DM.
    expect(posts.map((p) => p.channel).sort()).toEqual([key.channel, ROTATOR].sort());
    for (const post of posts) {
      expect(post.text).toContain('*Still in use:*');
      expect(post.text).toContain(`It is ${NAMED}.`);
      expect(post.text).not.toMatch(KEY_STRING);
    }
  });

  it('a user agent is shown as text: it cannot mention anyone or break out of the address', async () => {
    const { services, key } = await oldKeyStillSent({ first: '<!channel> `rm -rf` <https://x.test|click>' });
    const texts = sectionTexts(buildHomeView({ ...(await services.homeOf(ROTATOR)), page: 0 }).blocks);
    const oldKeys = texts.find((t) => t.includes(key.oldDisplay))!;
    expect(oldKeys).toContain("`10.0.3.7` &lt;!channel&gt; 'rm -rf' &lt;https://x.test|click&gt; — 30 calls");
    expect(oldKeys).not.toContain('<!channel>');
  });

  it('stays within Slack’s limits with every old key of a card used by many clients with long user agents', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const secret = (i: number, expiresAt: Date | null) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      display: `rk_live_Ab${String(i).padStart(2, '0')}…wxyz`,
      createdAt: now,
      expiresAt,
    });
    const inGrace = Array.from({ length: 8 }, (_, g) =>
      secret(g + 1, new Date(now.getTime() + (g + 1) * HOUR)),
    );
    const key: KeySummary = {
      id: '10000000-0000-4000-8000-000000000001',
      name: 'n'.repeat(64),
      products: ['api'],
      maintainers: ['U1'],
      alertChannel: 'CALERTS',
      rotateEveryDays: null,
      createdAt: now,
      lastRotatedAt: now,
      rotateEvery: null,
      rotationDueAt: null,
      overdue: false,
      current: secret(0, null),
      inGrace,
    };
    const used = {
      lastUsedAt: new Date(now.getTime() - MINUTE),
      lastHour: 1_000,
      last24h: 24_000,
      hourly: new Array(24).fill(1_000),
    };
    const longClient = (i: number) => ({
      ip: `2001:db8:ffff:ffff:ffff:ffff:ffff:${i}`,
      userAgent: `<${'x'.repeat(250)}>`,
      uses: 1_000_000,
      lastUsedAt: used.lastUsedAt,
    });
    const view = buildHomeView({
      keys: [key],
      page: 0,
      now,
      isAdmin: true,
      uses: new Map([key.current!, ...inGrace].map((s) => [s.id, used])),
      clients: new Map(inGrace.map((s) => [s.id, { top: [1, 2, 3].map(longClient), total: 10 }])),
      cutovers: new Map(inGrace.map((s) => [s.id, new Date(now.getTime() - HOUR)])),
    });
    expect(checkView(view)).toEqual([]);
  });
});
