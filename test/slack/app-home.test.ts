import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../db/schema/index.ts';
import { hourStartMs } from '../../src/keys/usage.ts';
import { decodeEndGraceValue } from '../../src/slack/end-grace-value.ts';
import { ids } from '../../src/slack/ids.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, slackActor } from '../support/test-services.ts';
import { KEY_STRING, rotationsOf, type SlackHarness, startSlackHarness } from './harness.ts';
import { cardText, type HomeShown, HomeUser } from './home-driver.ts';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database);
});
afterAll(async () => {
  await h.close();
  await database.close();
});

const json = (value: unknown) => JSON.stringify(value);
const unix = (at: Date) => Math.floor(at.getTime() / 1000);

const cardOrder = (home: HomeShown) =>
  home.blocks
    .map((b) => String(b.block_id ?? ''))
    .filter((id) => id.startsWith(ids.home.cardBlockPrefix))
    .map((id) => id.slice(ids.home.cardBlockPrefix.length));

describe('the Home tab', () => {
  it('shows a maintainer one card per key, the key in grace first with both keys, its countdown and the last rotation', async () => {
    const a = await createTestKey(h.services, { name: 'aa-home-1', maintainers: ['UHANA'] });
    const b = await createTestKey(h.services, {
      name: 'bb-home-2',
      maintainers: ['UHANA', 'UOTHER'],
      products: ['orders', 'search'],
      alertChannel: 'CORDERS',
    });
    const c = await createTestKey(h.services, { name: 'cc-home-3', maintainers: ['UHANA'] });
    await createTestKey(h.services, { name: 'dd-not-hers', maintainers: ['UOTHER'] });
    const rotatedAt = h.services.clock.now();
    const rotation = await rotateTestKey(h.services, { id: b.key.id }, '3h', slackActor('UHANA'));
    h.services.clock.advance(30 * MINUTE);

    const hana = new HomeUser(h, 'UHANA');
    const home = await hana.openHome();

    expect(home.type).toBe('home');
    expect(cardOrder(home)).toEqual([b.key.id, a.key.id, c.key.id]);
    const inGrace = cardText(home, b.key.id);
    expect(inGrace).toContain('bb-home-2');
    expect(inGrace).toContain('orders, search');
    expect(inGrace).toContain('<#CORDERS>');
    expect(inGrace).toContain(rotation.newSecret.display);
    expect(inGrace).toContain(b.key.current!.display);
    const expiresAt = new Date(rotatedAt.getTime() + 3 * HOUR);
    expect(inGrace).toContain(`<!date^${unix(expiresAt)}^{date_short_pretty} at {time}|`);
    expect(inGrace).toContain('(in 2 hours 30 minutes)');
    expect(inGrace).toContain(`*Last rotated*\\n<!date^${unix(rotatedAt)}^`);
    for (const other of [a, c]) {
      const text = cardText(home, other.key.id);
      expect(text).toContain(other.key.name);
      expect(text).toContain(other.key.current!.display);
      expect(text).toContain('never rotated');
      expect(text).not.toContain('Old key');
    }
    expect(json(home)).not.toContain('dd-not-hers');
    // Only the card in grace offers "End grace now", naming what it shows: the key, its current key
    // and the old one (ids only).
    expect(hana.buttons(ids.home.endGrace).map((btn) => decodeEndGraceValue(btn.value))).toEqual([
      {
        keyId: b.key.id,
        seen: { currentSecretId: rotation.newSecret.id, oldSecretIds: [b.key.current!.id] },
      },
    ]);
    expect(hana.buttons(ids.home.rotate)).toHaveLength(3);
    expect(hana.buttons(ids.home.history)).toHaveLength(3);

    // No key string anywhere: not the old one, not the new one, not anything shaped like one.
    for (const token of [a.token, b.token, c.token, rotation.token]) expect(json(home)).not.toContain(token);
    expect(json(home)).not.toMatch(KEY_STRING);
  });

  it('tells someone who maintains nothing how to get keys, with no buttons', async () => {
    const nobody = new HomeUser(h, 'UNOBODY');
    const home = await nobody.openHome();
    expect(json(home)).toContain('You do not maintain any API key yet');
    expect(json(home)).toContain('maintainer');
    expect(home.blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it('publishes nothing when the Messages tab is opened', async () => {
    await createTestKey(h.services, { maintainers: ['UMSGTAB'] });
    await h.slack.home.settled();
    const user = new HomeUser(h, 'UMSGTAB');
    const before = user.publishes().length;
    expect(await user.sendEvent({ type: 'app_home_opened', user: 'UMSGTAB', tab: 'messages' })).toBe(200);
    await h.idle();
    expect(user.publishes()).toHaveLength(before);
  });
});

describe('Rotate… on a card', () => {
  it('opens the same modal as /rotate-key with the key preselected, then the same review and reveal', async () => {
    const other = await createTestKey(h.services, { name: 'ee-ivan-1', maintainers: ['UIVAN'] });
    const key = await createTestKey(h.services, { name: 'ff-ivan-2', maintainers: ['UIVAN'] });
    const ivan = new HomeUser(h, 'UIVAN');
    await ivan.openHome();

    const pressed = await ivan.press(ivan.cardButton(key.key.id, ids.home.rotate)!);
    expect(pressed.status).toBe(200);
    expect(pressed.ms).toBeLessThan(1000);
    const fromHome = await ivan.waitForModal();
    await ivan.slack.command(key.key.name);
    const fromCommand = await ivan.slack.waitForModal();
    const strip = (v: Record<string, unknown>) => json({ ...v, id: undefined, hash: undefined });
    expect(strip(fromHome)).toBe(strip(fromCommand));
    expect(fromHome.callback_id).toBe(ids.views.choose);
    expect(json(fromHome)).toContain(`"initial_option":{"text":{"type":"plain_text","text":"ff-ivan-2"`);
    expect(json(fromHome)).toContain(other.key.name);

    // Continue from the modal the Home opened.
    ivan.slack.view = fromHome;
    const next = await ivan.slack.submit({ [ids.blocks.delay]: '1h', [ids.blocks.ack]: ids.ackValue });
    expect(next.json).toMatchObject({ response_action: 'update', view: { callback_id: ids.views.review } });
    expect(json(next.json?.view)).toContain(key.key.current!.display);
    const refreshed = ivan.nextPublish(() => Promise.resolve());
    const done = await ivan.slack.submit();
    expect(done.json).toMatchObject({ response_action: 'update', view: { callback_id: ids.views.reveal } });
    const token = json(done.json?.view).match(KEY_STRING)?.[0];
    expect(await h.services.verifyKey(token!)).toMatchObject({ valid: true, status: 'active' });
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });

    // The rotator's own Home now shows the card in grace.
    const home = await refreshed;
    expect(cardOrder(home)[0]).toBe(key.key.id);
    expect(cardText(home, key.key.id)).toContain(key.key.current!.display);
    expect(json(home)).not.toMatch(KEY_STRING);
  });
});

describe('the old key’s use on the card', () => {
  it('shows the use flushed to the database, and calls the move done once the old key is idle for an hour', async () => {
    const key = await createTestKey(h.services, { name: 'uu-use', maintainers: ['UUSE1'] });
    const rotation = await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const now = h.services.clock.now();
    await addUseCounts(database.db, [
      {
        secretId: rotation.oldSecret.id,
        hour: new Date(hourStartMs(now.getTime())),
        uses: 1204,
        expiredUses: 0,
        firstUsedAt: now,
        lastUsedAt: now,
      },
    ]);
    const user = new HomeUser(h, 'UUSE1');
    h.services.clock.advance(3 * MINUTE);
    const busy = cardText(await user.openHome(), key.key.id);
    expect(busy).toContain('still works; it stops');
    expect(busy).toContain('last used 3 min ago · 1\u00a0204 calls in the last hour');
    expect(busy).toContain(`\\n${'never used'}`); // the new key, not yet presented
    expect(busy).not.toContain('looks done');

    h.services.clock.advance(HOUR);
    const idle = cardText(await user.openHome(), key.key.id);
    expect(idle).toContain(`not used since <!date^${unix(now)}^`);
    expect(idle).toContain('The move looks done');
  });
});

describe('End grace now', () => {
  it('asks for a danger confirmation, then stops the old key at once, audits it, tells the channel and refreshes the Home', async () => {
    const key = await createTestKey(h.services, {
      name: 'gg-jude',
      maintainers: ['UJUDE', 'UKARL'],
      alertChannel: 'CJUDE',
    });
    const rotation = await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const jude = new HomeUser(h, 'UJUDE');
    const karl = new HomeUser(h, 'UKARL');
    await jude.openHome();
    await karl.openHome();

    const button = jude.cardButton(key.key.id, ids.home.endGrace)!;
    expect(button.style).toBe('danger');
    expect(button.confirm).toMatchObject({
      title: { type: 'plain_text' },
      confirm: { text: 'End grace now' },
      deny: { text: 'Cancel' },
      style: 'danger',
    });
    expect(json(button.confirm)).toContain(key.key.current!.display);
    expect(json(button.confirm)).toContain('cannot be undone');
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
    const eventsBefore = (await h.services.keyAudit({ id: key.key.id })).events.length;

    const [judeHome, karlHome] = await Promise.all([
      jude.nextPublish(() => jude.press(button)),
      karl.nextPublish(() => Promise.resolve()),
    ]);

    expect(await h.services.verifyKey(key.token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await h.services.verifyKey(rotation.token)).toMatchObject({ valid: true, status: 'active' });
    const audit = await h.services.keyAudit({ id: key.key.id });
    expect(audit.events).toHaveLength(eventsBefore + 1);
    expect(audit.events.at(-1)).toMatchObject({ action: 'end_grace', actor: 'UJUDE', source: 'slack' });

    const notice = await h.fake.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.params.channel === 'CJUDE' && json(c.params).includes('ended'),
    );
    expect(json(notice.params)).toContain('<@UJUDE>');
    expect(json(notice.params)).toContain('gg-jude');
    expect(json(notice.params)).toContain(key.key.current!.display);
    expect(json(notice.params)).not.toMatch(KEY_STRING);

    for (const home of [judeHome, karlHome]) {
      expect(cardText(home, key.key.id)).not.toContain(key.key.current!.display);
      expect(cardText(home, key.key.id)).toContain(rotation.newSecret.display);
      expect(jude.cardButton(key.key.id, ids.home.endGrace, home)).toBeUndefined();
    }
  });

  it('ends the grace period once on a double click, and never calls the second click a failure', async () => {
    const key = await createTestKey(h.services, { maintainers: ['UMILO'] });
    await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const milo = new HomeUser(h, 'UMILO');
    await milo.openHome();
    const button = milo.cardButton(key.key.id, ids.home.endGrace)!;
    const callsBefore = h.fake.calls.length;
    const home = await milo.nextPublish(() => Promise.all([milo.press(button), milo.press(button)]));
    await h.idle();
    const audit = await h.services.keyAudit({ id: key.key.id });
    expect(audit.events.filter((e) => e.action === 'end_grace')).toHaveLength(1);
    expect(await h.services.verifyKey(key.token)).toEqual({ valid: false, code: 'EXPIRED' });
    // Both clicks carry what the card showed, so the second is the same request: it does nothing and
    // says nothing — no dialog, no ephemeral or DM calling it a failure. The channel hears of it once,
    // and the refreshed card has no old key left to end.
    const calls = h.fake.calls.slice(callsBefore);
    expect(calls.filter((c) => c.method === 'views.open')).toEqual([]);
    expect(calls.filter((c) => c.method === 'chat.postEphemeral')).toEqual([]);
    const posted = calls.filter((c) => c.method === 'chat.postMessage');
    expect(posted.map((c) => c.params.channel)).toEqual(['CALERTS']);
    expect(json(posted[0]!.params)).toContain('ended');
    expect(cardText(home, key.key.id)).toContain('*Current key*');
    expect(cardText(home, key.key.id)).not.toContain(key.key.current!.display);
    expect(milo.cardButton(key.key.id, ids.home.endGrace, home)).toBeUndefined();
    expect(h.logs.filter((line) => line.includes('an App Home button failed'))).toEqual([]);
  });

  it('explains a database failure and changes nothing', async () => {
    const key = await createTestKey(h.services, { maintainers: ['ULENA'] });
    await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const lena = new HomeUser(h, 'ULENA');
    await lena.openHome();
    h.failDatabase(true);
    try {
      await lena.press(lena.cardButton(key.key.id, ids.home.endGrace)!);
      const notice = await lena.waitForModal();
      expect(json(notice)).toContain('could not reach its database');
      expect(json(notice)).toContain('Nothing was changed');
    } finally {
      h.failDatabase(false);
    }
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
  });
});

describe('History', () => {
  it('lists the rotations in order: who, when, which delay, from where', async () => {
    const key = await createTestKey(h.services, { name: 'hh-leo', maintainers: ['ULEO', 'UMAX'] });
    const first = h.services.clock.now();
    const r1 = await rotateTestKey(h.services, { id: key.key.id }, '1h', slackActor('ULEO'));
    h.services.clock.advance(2 * HOUR);
    const second = h.services.clock.now();
    const r2 = await rotateTestKey(h.services, { id: key.key.id }, '72h', cliActor);
    h.services.clock.advance(HOUR);
    const third = h.services.clock.now();
    const r3 = await rotateTestKey(h.services, { id: key.key.id }, 'now', slackActor('UMAX'));
    const leo = new HomeUser(h, 'ULEO');
    await leo.openHome();

    await leo.press(leo.cardButton(key.key.id, ids.home.history)!);
    const modal = await leo.waitForModal();
    expect(modal.callback_id).toBe(ids.views.history);
    const entries = modal.blocks.map((b) => json(b)).filter((t) => t.includes('Rotated'));
    expect(entries).toHaveLength(3);
    expect(entries[0]).toContain('<@ULEO> from Slack');
    expect(entries[0]).toContain(`<!date^${unix(first)}^`);
    expect(entries[0]).toContain('1 hour');
    expect(entries[0]).toContain(`${r1.oldSecret.display}\` → \`${r1.newSecret.display}`);
    expect(entries[1]).toContain('from the CLI');
    expect(entries[1]).toContain(`<!date^${unix(second)}^`);
    expect(entries[1]).toContain('72 hours');
    expect(entries[1]).toContain(r2.newSecret.display);
    expect(entries[2]).toContain('<@UMAX> from Slack');
    expect(entries[2]).toContain(`<!date^${unix(third)}^`);
    expect(entries[2]).toContain('immediately');
    expect(entries[2]).toContain(r3.newSecret.display);
    expect(json(modal)).toContain('Created');
    expect(json(modal)).not.toMatch(KEY_STRING);
  });
});

describe('a stale Home', () => {
  it('explains to a removed maintainer why nothing happened, changes nothing, and drops the card', async () => {
    const key = await createTestKey(h.services, {
      name: 'ii-mia',
      maintainers: ['UMIA', 'UNOAH'],
      alertChannel: 'CMIA',
    });
    await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const mia = new HomeUser(h, 'UMIA');
    const stale = await mia.openHome();
    await database.db
      .update(keys)
      .set({ maintainers: ['UNOAH'] })
      .where(eq(keys.id, key.key.id));
    const eventsBefore = (await h.services.keyAudit({ id: key.key.id })).events.length;
    const opensBefore = h.fake.callsTo('views.open').length;

    for (const [actionId, reason] of [
      [ids.home.endGrace, 'cannot end its grace period'],
      [ids.home.rotate, 'cannot rotate it'],
      [ids.home.history, 'does not show you its history'],
    ] as const) {
      const refreshed = await mia.nextPublish(async () => {
        const response = await mia.press(mia.cardButton(key.key.id, actionId, stale)!, stale);
        expect(response.status).toBe(200);
      });
      const notice = await mia.waitForModal();
      expect(notice.callback_id).toBe(ids.views.failure);
      expect(json(notice)).toContain('no longer a maintainer of \\"ii-mia\\"');
      expect(json(notice)).toContain(reason);
      expect(json(notice)).toContain('<@UNOAH>');
      // The stale card is gone from the Home published right after: Mia maintains nothing now.
      expect(json(refreshed)).not.toContain('ii-mia');
      expect(json(refreshed)).toContain('You do not maintain any API key yet');
    }

    await h.idle();
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect((await h.services.keyAudit({ id: key.key.id })).events).toHaveLength(eventsBefore);
    expect(await rotationsOf(h.services, key.key.id)).toBe(1);
    expect(h.fake.callsTo('chat.postMessage').some((c) => c.params.channel === 'CMIA')).toBe(false);
    const opened = h.fake.callsTo('views.open').slice(opensBefore);
    expect(opened.map((c) => (c.params.view as { callback_id?: string }).callback_id)).toEqual([
      ids.views.failure,
      ids.views.failure,
      ids.views.failure,
    ]);
  });
});

describe('a Home that another maintainer made stale', () => {
  it('explains that the grace period already ended and changes nothing', async () => {
    const key = await createTestKey(h.services, { name: 'll-rosa', maintainers: ['UROSA', 'USAM'] });
    const rotation = await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const sam = new HomeUser(h, 'USAM');
    const stale = await sam.openHome();
    await h.services.endGrace({
      key: { id: key.key.id },
      actor: slackActor('UROSA'),
      acknowledged: true,
    });
    const eventsBefore = (await h.services.keyAudit({ id: key.key.id })).events.length;

    const refreshed = await sam.nextPublish(() =>
      sam.press(sam.cardButton(key.key.id, ids.home.endGrace, stale)!, stale),
    );
    const notice = await sam.waitForModal();
    expect(json(notice)).toContain('no old key still working');
    expect((await h.services.keyAudit({ id: key.key.id })).events).toHaveLength(eventsBefore);
    // The refreshed card shows the key as it now is: the new key current, no old key, nothing to end.
    const now = cardText(refreshed, key.key.id);
    expect(now).toContain(`*Current key*\\n\`${rotation.newSecret.display}\``);
    expect(now).not.toContain(key.key.current!.display);
    expect(now).not.toContain('grace period');
    expect(sam.cardButton(key.key.id, ids.home.rotate, refreshed)).toBeDefined();
    expect(sam.cardButton(key.key.id, ids.home.endGrace, refreshed)).toBeUndefined();
  });
});

describe('a Home made stale by a newer rotation', () => {
  it('ends nothing from the stale card: the key the newer rotation made old keeps working, and the person learns why', async () => {
    const key = await createTestKey(h.services, {
      name: 'mm-tess',
      maintainers: ['UTESS', 'UURI'],
      alertChannel: 'CTESS',
    });
    const first = await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const tess = new HomeUser(h, 'UTESS');
    const stale = await tess.openHome();
    expect(cardText(stale, key.key.id)).toContain(key.key.current!.display);
    // Uri rotates again: the key every client uses now (first.token) goes into its grace period.
    const second = await rotateTestKey(h.services, { id: key.key.id }, '48h', slackActor('UURI'));
    await h.slack.home.settled();
    const eventsBefore = (await h.services.keyAudit({ id: key.key.id })).events.length;

    const refreshed = await tess.nextPublish(() =>
      tess.press(tess.cardButton(key.key.id, ids.home.endGrace, stale)!, stale),
    );
    const notice = await tess.waitForModal();

    expect(await h.services.verifyKey(first.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await h.services.verifyKey(second.token)).toMatchObject({ valid: true, status: 'active' });
    expect((await h.services.keyAudit({ id: key.key.id })).events).toHaveLength(eventsBefore);
    expect(json(notice)).toContain(
      'was rotated again after the message you pressed End grace now on was shown',
    );
    expect(json(notice)).toContain('nothing was ended');
    expect(json(notice)).toContain(first.newSecret.display);
    // The refreshed card shows both old keys and offers End grace for what it now shows.
    expect(cardText(refreshed, key.key.id)).toContain(first.newSecret.display);
    expect(cardText(refreshed, key.key.id)).toContain(second.newSecret.display);
    expect(decodeEndGraceValue(tess.cardButton(key.key.id, ids.home.endGrace, refreshed)!.value)).toEqual({
      keyId: key.key.id,
      seen: {
        currentSecretId: second.newSecret.id,
        oldSecretIds: [key.key.current!.id, first.newSecret.id],
      },
    });
    await h.idle();
    expect(
      h.fake
        .callsTo('chat.postMessage')
        .filter((c) => c.params.channel === 'CTESS' && json(c.params).includes('ended')),
    ).toEqual([]);
  });

  it('ends nothing from a card published before End grace carried what it showed', async () => {
    const key = await createTestKey(h.services, { name: 'nn-ulla', maintainers: ['UULLA'] });
    await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const ulla = new HomeUser(h, 'UULLA');
    const home = await ulla.openHome();
    const button = { ...ulla.cardButton(key.key.id, ids.home.endGrace, home)!, value: key.key.id };
    await ulla.press(button, home);
    const notice = await ulla.waitForModal();
    expect(json(notice)).toContain('out of date, so nothing was ended');
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
  });
});

describe('refreshing', () => {
  it('republishes the Home of the other maintainers when someone rotates with /rotate-key', async () => {
    const key = await createTestKey(h.services, { name: 'jj-olga', maintainers: ['UOLGA', 'UPETE'] });
    const pete = new HomeUser(h, 'UPETE');
    const before = await pete.openHome();
    expect(cardText(before, key.key.id)).toContain('never rotated');

    const olga = h.user('UOLGA');
    const after = await pete.nextPublish(async () => {
      await olga.command(key.key.name);
      await olga.waitForModal();
      await olga.submit({ [ids.blocks.delay]: '48h', [ids.blocks.ack]: ids.ackValue });
      await olga.submit();
    });
    const text = cardText(after, key.key.id);
    expect(text).toContain(key.key.current!.display);
    expect(text).not.toContain('never rotated');
    expect(text).toContain('(in 2 days)');
    expect(cardOrder(after)[0]).toBe(key.key.id);
    expect(json(after)).not.toMatch(KEY_STRING);
  });

  it('republishes a Home when the old key on it stops working', async () => {
    const key = await createTestKey(h.services, { name: 'kk-quin', maintainers: ['UQUIN'] });
    const rotation = await rotateTestKey(h.services, { id: key.key.id }, '1h');
    h.services.clock.advance(HOUR - 200);
    const quin = new HomeUser(h, 'UQUIN');
    const before = await quin.openHome();
    const inGrace = cardText(before, key.key.id);
    expect(inGrace).toContain(`*New key*\\n\`${rotation.newSecret.display}\``);
    expect(inGrace).toContain(`*Old key*\\n\`${key.key.current!.display}\` still works`);

    const after = await quin.nextPublish(async () => h.services.clock.advance(500));
    const ended = cardText(after, key.key.id);
    expect(ended).toContain('*kk-quin*');
    expect(ended).toContain(`*Current key*\\n\`${rotation.newSecret.display}\``);
    expect(ended).not.toContain(key.key.current!.display);
    expect(ended).not.toContain('grace period');
    expect(quin.cardButton(key.key.id, ids.home.rotate, after)).toBeDefined();
    expect(quin.cardButton(key.key.id, ids.home.endGrace, after)).toBeUndefined();
  });
});
