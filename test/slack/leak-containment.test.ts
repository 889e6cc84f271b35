import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../../src/fake-slack/fake-slack.ts';
import type { OnLeak } from '../../src/keys/on-leak.ts';
import { ids } from '../../src/slack/ids.ts';
import { listAuditEvents } from '../../src/store/audit-store.ts';
import { messageText } from '../fake-slack/index.ts';
import { recordingPoster, tick } from '../scheduler/support.ts';
import { rotateTestKey } from '../support/fixtures.ts';
import { tablesText } from '../support/tables-text.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, uniqueName } from '../support/test-services.ts';
import { KEY_STRING, type SlackHarness, startSlackHarness } from './harness.ts';
import { cardText, HomeUser } from './home-driver.ts';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database);
});
afterAll(async () => {
  await h?.close();
  await database?.close();
});

const ALERTS = 'CALERTS';
const HOUR = 3_600_000;

/** A key maintained by Ada and Grace, alerting in #alerts, with its on-leak policy. */
function leakyKey(onLeak: OnLeak = 'notify') {
  return h.services.createKey({
    name: uniqueName('pay'),
    products: [],
    maintainers: ['UADA', 'UGRACE'],
    alertChannel: ALERTS,
    onLeak,
    actor: cliActor,
  });
}

/** What rekey posted to `channel` (a user id: their DM) about `keyName`. */
function postsAbout(channel: string, keyName: string): SlackCall[] {
  return h.fake.calls.filter(
    (c) =>
      c.method === 'chat.postMessage' &&
      c.params.channel === channel &&
      c.outcome === 'ok' &&
      messageText(c).includes(keyName),
  );
}

const buttonsOf = (call: SlackCall) =>
  ((call.params.blocks as Array<{ type: string; elements?: Array<{ action_id: string }> }>) ?? [])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements!.map((e) => e.action_id));

describe('a leaked OLD key in its grace period is ended, not rotated', () => {
  it('every message says so and offers End this key now…, which ends exactly that key: the current one, the other old key and the warning stay', async () => {
    const { key, token: oldToken } = await leakyKey();
    // Two old keys in grace: the leaked one (the oldest) and the one the second rotation made old.
    const first = await rotateTestKey(h.services, { id: key.id }, '3h');
    const rotation = await rotateTestKey(h.services, { id: key.id }, '3h');
    const general = h.channel('CGENERAL');
    const delivery = await general.post('UOSCAR', `old one: ${oldToken}`);
    await h.idle();

    const [reply] = general.threadReplies(delivery.ts);
    expect(messageText(reply!)).toContain('an old API key');
    expect(postsAbout('UADA', key.name)).toHaveLength(1);
    expect(postsAbout(ALERTS, key.name)).toHaveLength(1);
    for (const message of [reply!, ...postsAbout('UADA', key.name), ...postsAbout(ALERTS, key.name)]) {
      expect(buttonsOf(message)).toEqual([ids.leak.endKey]);
      expect(messageText(message)).toContain('End this key now');
    }
    const home = () => new HomeUser(h, 'UADA').openHome().then((view) => cardText(view, key.id));
    expect(await home()).toContain('the leaked old key');

    const [dm] = postsAbout('UADA', key.name);
    const ada = h.user('UADA');
    expect((await ada.pressMessageButton(dm!, ids.leak.endKey)).status).toBe(200);
    const modal = await ada.waitForModal();
    expect(modal.callback_id).toBe(ids.views.endLeakedKey);
    expect(JSON.stringify(modal)).toContain(rotation.newSecret.display);
    expect(JSON.stringify(modal)).not.toMatch(KEY_STRING);
    const ended = await ada.submit();
    expect(ended.json).toMatchObject({ response_action: 'update' });
    await h.idle();

    expect(await h.services.verifyKey(oldToken)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await h.services.verifyKey(first.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await h.services.verifyKey(rotation.token)).toMatchObject({ valid: true, status: 'active' });
    expect(await home()).not.toContain('Reported leaked');
    const audit = await listAuditEvents(database.db, key.id);
    expect(audit.at(-1)).toMatchObject({
      action: 'end_grace',
      actor: 'UADA',
      details: { endedSecretIds: [first.oldSecret.id] },
    });
  });

  it('a message holding both the current and an old key gets both buttons', async () => {
    const { key, token: oldToken } = await leakyKey();
    const rotation = await rotateTestKey(h.services, { id: key.id }, '24h');
    const general = h.channel('CGENERAL');
    const delivery = await general.post('UOSCAR', `${oldToken} and ${rotation.token}`);
    await h.idle();
    const buttons = general.threadReplies(delivery.ts).flatMap(buttonsOf);
    expect(buttons.sort()).toEqual([ids.leak.endKey, ids.leak.rotateNow].sort());
  });

  it('after a delayed rotation the card keeps warning, now about the old key, until it stops working', async () => {
    const { key, token } = await leakyKey();
    await h.channel('CGENERAL').post('UOSCAR', token);
    await h.idle();
    h.services.clock.advance(60_000);
    await rotateTestKey(h.services, { id: key.id }, '1h');
    const home = () => new HomeUser(h, 'UADA').openHome().then((view) => cardText(view, key.id));
    expect(await home()).toContain('the leaked old key');
    expect(await home()).toContain('still works until');
    h.services.clock.advance(HOUR);
    expect(await home()).not.toContain('Reported leaked');
  });

  it('the reminders about a leaked old key say it was reported leaked and offer End grace now', async () => {
    const { key, token } = await leakyKey();
    const rotation = await rotateTestKey(h.services, { id: key.id }, '24h');
    await h.services.verifyKey(token);
    await h.channel('CGENERAL').post('UOSCAR', token);
    await h.idle();
    const slack = recordingPoster(h.services.clock);
    h.services.clock.set(new Date(rotation.oldSecret.expiresAt!.getTime() - HOUR));
    await tick(database, h.services.clock, slack.poster);
    const reminder = slack.posts.find((p) => p.channel === ALERTS && p.text.includes(key.name));
    expect(reminder?.text).toContain('It was reported leaked');
    expect(JSON.stringify(reminder?.blocks)).toContain(ids.home.endGrace);
  });
});

describe('automatic containment (on-leak rotate-1h | rotate-now)', () => {
  it('a maintainer sets it in Edit…: audited, and the next leak is contained by itself', async () => {
    const { key, token } = await leakyKey();
    const ada = new HomeUser(h, 'UADA');
    await ada.openHome();
    const edit = ada.cardButton(key.id, ids.home.edit);
    expect((await ada.press(edit!)).status).toBe(200);
    const dialog = await ada.waitForModal();
    expect(dialog.blocks.map((b) => b.block_id)).toContain(ids.blocks.onLeak);
    const saved = await ada.slack.submit({ [ids.blocks.onLeak]: 'rotate-now' });
    expect(saved.json).toMatchObject({ response_action: 'update' });
    expect((await h.services.showKey({ id: key.id })).onLeak).toBe('rotate-now');
    expect((await h.services.keyAudit({ id: key.id })).events.at(-1)).toMatchObject({
      action: 'edit',
      actor: 'UADA',
      details: { before: { onLeak: 'notify' }, after: { onLeak: 'rotate-now' } },
    });
    await h.channel('CGENERAL').post('UOSCAR', token);
    await h.idle();
    expect(await h.services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
  });

  it('rotate-1h: a pasted current key is rotated by rekey with one hour of grace, said everywhere; Reveal the new key shows a fresh key to the first maintainer only', async () => {
    const { key, token } = await leakyKey('rotate-1h');
    const general = h.channel('CGENERAL');
    const delivery = await general.post('UOSCAR', token);
    await h.idle();
    // A redelivery (Slack's retry) acts no more.
    await general.redeliver(delivery, 1);
    await h.idle();

    const leaked = await h.services.verifyKey(token);
    expect(leaked).toMatchObject({ valid: true, status: 'expiring' });
    const stopsAt = new Date(h.services.clock.now().getTime() + HOUR).toISOString();
    expect(leaked).toMatchObject({ expiresAt: stopsAt });
    const audit = await listAuditEvents(database.db, key.id);
    const report = audit.find((e) => e.action === 'leak_reported')!;
    const rotations = audit.filter((e) => e.action === 'rotate');
    expect(rotations).toHaveLength(1);
    expect(rotations[0]).toMatchObject({
      actor: 'rekey',
      delay: '1h',
      details: { leakReportId: report.details!.leakReportId, automatic: 'rotate-1h' },
    });

    const [reply] = general.threadReplies(delivery.ts);
    expect(messageText(reply!)).toContain('rekey rotated');
    const [dm] = postsAbout('UADA', key.name);
    const [alert] = postsAbout(ALERTS, key.name);
    for (const message of [dm!, alert!]) expect(messageText(message)).toContain('rekey rotated');
    expect(buttonsOf(dm!)).toContain(ids.leak.revealNewKey);
    expect(buttonsOf(alert!)).not.toContain(ids.leak.revealNewKey);

    // Ada presses first: a fresh key, in a modal and an ephemeral DM, that verifies as the current key.
    const ada = h.user('UADA');
    expect((await ada.pressMessageButton(dm!, ids.leak.revealNewKey)).status).toBe(200);
    const modal = await ada.waitForModal();
    const revealed = JSON.stringify(modal).match(KEY_STRING)?.[0];
    expect(revealed).toBeDefined();
    await h.idle();
    expect(await h.services.verifyKey(revealed!)).toMatchObject({ valid: true, status: 'active' });
    const ephemeral = h.fake.calls.filter(
      (c) =>
        c.method === 'chat.postEphemeral' &&
        c.params.user === 'UADA' &&
        JSON.stringify(c.params).includes(revealed!),
    );
    expect(ephemeral).toHaveLength(1);
    expect((await listAuditEvents(database.db, key.id)).at(-1)).toMatchObject({
      action: 'reveal',
      actor: 'UADA',
    });

    // Grace presses later: told who has it and when, shown nothing.
    const [graceDm] = postsAbout('UGRACE', key.name);
    const grace = h.user('UGRACE');
    const from = h.fake.calls.length;
    expect((await grace.pressMessageButton(graceDm!, ids.leak.revealNewKey)).status).toBe(200);
    await h.idle();
    const told = h.fake.calls.slice(from);
    expect(told.map((c) => c.method)).not.toContain('views.open');
    const answer = told.find((c) => c.method === 'chat.postEphemeral');
    expect(messageText(answer!)).toContain('already revealed to <@UADA>');
    expect(JSON.stringify(told)).not.toMatch(KEY_STRING);
    // The leaked key still stops at its hour; no key string anywhere but the two private reveals.
    expect(await tablesText(database.db)).not.toContain(revealed!);
  });

  it('rotate-now: a pasted old key is ended at once by rekey; the current key is untouched', async () => {
    const { key, token: oldToken } = await leakyKey('rotate-now');
    const rotation = await rotateTestKey(h.services, { id: key.id }, '24h');
    const general = h.channel('CGENERAL');
    const delivery = await general.post('UOSCAR', oldToken);
    await h.idle();
    expect(await h.services.verifyKey(oldToken)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await h.services.verifyKey(rotation.token)).toMatchObject({ valid: true, status: 'active' });
    expect((await listAuditEvents(database.db, key.id)).at(-1)).toMatchObject({
      action: 'end_grace',
      actor: 'rekey',
      details: { endedSecretIds: [rotation.oldSecret.id] },
    });
    expect(messageText(general.threadReplies(delivery.ts)[0]!)).toContain('rekey ended the leaked key');
    expect(messageText(postsAbout('UADA', key.name)[0]!)).toContain('rekey ended the leaked key');
  });
});
