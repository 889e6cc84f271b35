import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../../src/fake-slack/fake-slack.ts';
import { generateToken } from '../../src/keys/token.ts';
import { ids } from '../../src/slack/ids.ts';
import { listAuditEvents } from '../../src/store/audit-store.ts';
import { messageText } from '../fake-slack/index.ts';
import { countingDb } from '../support/counting-db.ts';
import { createTestKey, rotateTestKey, typoOf } from '../support/fixtures.ts';
import { tablesText } from '../support/tables-text.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';
import { type SlackHarness, startSlackHarness } from './harness.ts';
import { cardText, HomeUser, viewText } from './home-driver.ts';

let database: TestDatabase;
let counting: ReturnType<typeof countingDb>;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  counting = countingDb(database);
  h = await startSlackHarness(database, { db: counting.db });
});
afterAll(async () => {
  await h?.close();
  await database?.close();
});

const ALERTS = 'CALERTS';

/** A key maintained by Ada and Grace, alerting in #alerts, and its key string. */
function leakyKey() {
  return createTestKey(h.services, { maintainers: ['UADA', 'UGRACE'], alertChannel: ALERTS });
}

/** Messages rekey posted to `channel` (a user id: their DM with rekey), since call number `from`. */
function postsTo(channel: string, from = 0): SlackCall[] {
  return h.fake.calls
    .slice(from)
    .filter((c) => c.method === 'chat.postMessage' && c.params.channel === channel && c.outcome === 'ok');
}

async function leakAudits(keyId: string) {
  return (await listAuditEvents(database.db, keyId)).filter((e) => e.action === 'leak_reported');
}

describe('a working key pasted in a channel rekey is in', () => {
  it('gets a thread reply without the key, a DM to each maintainer, an alert-channel notice, an audit row and a red line on the card', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const from = h.fake.calls.length;
    const logsFrom = h.logs.length;

    const delivery = await general.post('UOSCAR', `here is the staging key: ${token} (please keep it)`);
    expect(delivery.status).toBe(200);
    await h.idle();

    // In the thread, for everyone in the channel: which key, by its display form, and what to do.
    const [reply, ...more] = general.threadReplies(delivery.ts);
    expect(more).toEqual([]);
    const replyText = messageText(reply!);
    expect(replyText).toContain(key.name);
    expect(replyText).toContain(key.current!.display);
    expect(replyText).toContain('Anyone who can read this channel can use it');
    expect(replyText).toContain('maintainers have been told');
    expect(replyText).toContain('<@UOSCAR>, please delete the message');
    expect(replyText).toContain(ids.leak.rotateNow);

    // Each maintainer, in their DM with rekey, and the alert channel: where, with a link, and the button.
    const permalink = `https://demo.slack.com/archives/CGENERAL/p${delivery.ts.replace('.', '')}`;
    for (const channel of ['UADA', 'UGRACE', ALERTS]) {
      const posts = postsTo(channel, from);
      expect(posts, channel).toHaveLength(1);
      const text = messageText(posts[0]!);
      expect(text).toContain(key.name);
      expect(text).toContain('<#CGENERAL>');
      expect(text).toContain('<@UOSCAR>');
      expect(text).toContain(permalink);
      expect(text).toContain(ids.leak.rotateNow);
    }

    // Audited: who posted, where, which message, how it was found.
    const [audit] = await leakAudits(key.id);
    expect(audit).toMatchObject({
      actor: 'UOSCAR',
      source: 'slack',
      details: {
        channel: 'CGENERAL',
        messageTs: delivery.ts,
        foundBy: 'slack_message',
        secret: key.current!.display,
      },
    });

    // The key card says so, in a maintainer's Home.
    const card = cardText(await new HomeUser(h, 'UADA').openHome(), key.id);
    expect(card).toContain('Reported leaked in <#CGENERAL>');
    expect(card).toContain('not rotated since');

    // The key string went nowhere: no Slack call, no log line, no table.
    for (const call of h.fake.calls.slice(from)) expect(JSON.stringify(call.params)).not.toContain(token);
    for (const line of h.logs.slice(logsFrom)) expect(line).not.toContain(token);
    expect(await tablesText(database.db)).not.toContain(token);
    expect(await tablesText(database.db)).not.toContain('here is the staging key');
  });

  it('Rotate now… opens the rotation with Immediately chosen and says why; rotating ends the leaked key at once and the red line', async () => {
    const { key, token } = await leakyKey();
    const delivery = await h.channel('CGENERAL').post('UOSCAR', token);
    await h.idle();
    const [dm] = postsTo('UADA').filter((c) => messageText(c).includes(key.name));
    expect(cardText(await new HomeUser(h, 'UADA').openHome(), key.id)).toContain('Reported leaked');
    h.services.clock.advance(60_000);

    const ada = h.user('UADA');
    expect((await ada.pressMessageButton(dm!, ids.leak.rotateNow)).status).toBe(200);
    const modal = await ada.waitForModal();
    expect(modal.callback_id).toBe(ids.views.choose);
    expect(viewText(modal)).toContain('This key was reported leaked');
    const inputs = modal.blocks.filter((b) => b.type === 'input') as Array<{
      block_id: string;
      element: { initial_option?: { value: string } };
    }>;
    expect(inputs.find((b) => b.block_id === ids.blocks.key)?.element.initial_option?.value).toBe(key.id);
    expect(inputs.find((b) => b.block_id === ids.blocks.delay)?.element.initial_option?.value).toBe('now');

    const review = await ada.submit({ [ids.blocks.ack]: ids.ackValue });
    expect(review.json).toMatchObject({ response_action: 'update', view: { callback_id: ids.views.review } });
    const rotated = await ada.submit();
    expect(rotated.json?.response_action).toBe('update');
    await h.idle();

    expect(await h.services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(cardText(await new HomeUser(h, 'UADA').openHome(), key.id)).not.toContain('Reported leaked');
    expect(h.channel('CGENERAL').threadReplies(delivery.ts)).toHaveLength(1);
  });

  it('Rotate now… pressed in the thread by someone who may not rotate the key tells only them who can', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const delivery = await general.post('UOSCAR', token);
    await h.idle();
    const [reply] = general.threadReplies(delivery.ts);
    const from = h.fake.calls.length;

    const oscar = h.user('UOSCAR');
    expect((await oscar.pressMessageButton(reply!, ids.leak.rotateNow)).status).toBe(200);
    await h.idle();

    const calls = h.fake.calls.slice(from);
    expect(calls.map((c) => c.method)).not.toContain('views.open');
    const refusal = calls.find((c) => c.method === 'chat.postEphemeral');
    expect(refusal?.params).toMatchObject({ channel: 'CGENERAL', user: 'UOSCAR' });
    const text = messageText(refusal!);
    expect(text).toContain(`Only the maintainers of \\"${key.name}\\" (<@UADA>, <@UGRACE>)`);
    expect(text).toContain('Nothing was changed');
    expect(await h.services.verifyKey(token)).toMatchObject({ valid: true, status: 'active' });
  });

  it('finds a key in blocks and attachments, and one made under an earlier key prefix', async () => {
    const earlier = testServices(database, { keyPrefix: 'acme_pay', clock: h.services.clock });
    const old = await earlier.createKey({
      name: `acme-${Date.now()}`,
      products: [],
      maintainers: ['UADA'],
      alertChannel: null,
      actor: cliActor,
    });
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const inBlocks = await general.post('UOSCAR', 'see below', {
      blocks: [
        {
          type: 'rich_text',
          elements: [{ type: 'rich_text_preformatted', elements: [{ type: 'text', text: token }] }],
        },
      ],
    });
    const inAttachment = await general.post('UOSCAR', '', {
      attachments: [{ fallback: 'config', fields: [{ title: 'KEY', value: old.token }] }],
    });
    await h.idle();
    expect(messageText(general.threadReplies(inBlocks.ts)[0]!)).toContain(key.name);
    expect(messageText(general.threadReplies(inAttachment.ts)[0]!)).toContain(old.key.name);
  });

  it('answers in the thread a message already belongs to', async () => {
    const { token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const parent = await general.post('UGRACE', 'which key do I use?');
    const answer = await general.post('UOSCAR', token, { threadTs: parent.ts });
    await h.idle();
    expect(general.threadReplies(parent.ts)).toHaveLength(1);
    expect(general.threadReplies(answer.ts)).toHaveLength(0);
  });

  it('watches private channels too (message.groups)', async () => {
    const { key, token } = await leakyKey();
    const secret = h.channel('GPRIVATE', 'group');
    const delivery = await secret.post('UOSCAR', token);
    await h.idle();
    expect(messageText(secret.threadReplies(delivery.ts)[0]!)).toContain(key.name);
  });
});

describe('exactly once per secret and message', () => {
  it('reports once when Slack delivers the same event again', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const from = h.fake.calls.length;
    const first = await general.post('UOSCAR', token);
    await h.idle();
    for (const num of [1, 2, 3]) expect((await general.redeliver(first, num)).status).toBe(200);
    await h.idle();
    expect(general.threadReplies(first.ts)).toHaveLength(1);
    expect(postsTo('UADA', from)).toHaveLength(1);
    expect(postsTo(ALERTS, from)).toHaveLength(1);
    expect(await leakAudits(key.id)).toHaveLength(1);
  });

  it('answers every message in its thread, but tells the maintainers and the channel once per 10 minutes per key', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const from = h.fake.calls.length;
    const first = await general.post('UOSCAR', token);
    const second = await general.post('UGRACE', `again: ${token}`);
    await h.idle();
    expect(general.threadReplies(first.ts)).toHaveLength(1);
    expect(general.threadReplies(second.ts)).toHaveLength(1);
    expect(postsTo('UADA', from)).toHaveLength(1);
    expect(postsTo(ALERTS, from)).toHaveLength(1);
    expect(await leakAudits(key.id)).toHaveLength(2);
  });

  it('reports once when the event reaches two replicas', async () => {
    const { key, token } = await leakyKey();
    const replica = await startSlackHarness(database);
    try {
      const general = h.channel('CGENERAL');
      const first = await general.post('UOSCAR', token);
      const second = await general.redeliver(first, 1, replica.url);
      expect(second.status).toBe(200);
      await Promise.all([h.idle(), replica.idle()]);
      const replies = [
        ...general.threadReplies(first.ts),
        ...replica.channel('CGENERAL').threadReplies(first.ts),
      ];
      expect(replies).toHaveLength(1);
      expect(await leakAudits(key.id)).toHaveLength(1);
    } finally {
      await replica.close();
    }
  });

  it('reports a key an edit adds, and nothing more for later edits that keep it', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    const from = h.fake.calls.length;
    const posted = await general.post('UOSCAR', 'the key is in my notes');
    await h.idle();
    expect(general.threadReplies(posted.ts)).toHaveLength(0);

    await general.edit('UOSCAR', posted.ts, {
      previousText: 'the key is in my notes',
      text: `it is ${token}`,
    });
    await h.idle();
    expect(general.threadReplies(posted.ts)).toHaveLength(1);

    await general.edit('UOSCAR', posted.ts, {
      previousText: `it is ${token}`,
      text: `it is ${token} (prod)`,
    });
    await h.idle();
    expect(general.threadReplies(posted.ts)).toHaveLength(1);
    expect(postsTo('UADA', from)).toHaveLength(1);
    expect(await leakAudits(key.id)).toHaveLength(1);
  });
});

describe('what is not a working key', () => {
  it('a key with one character changed costs no database query and gets no reply', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    await h.idle();
    const statements = counting.statements();
    const from = h.fake.calls.length;
    const posted = await general.post('UOSCAR', `try ${typoOf(token)}`);
    await h.idle();
    expect(counting.statements()).toBe(statements);
    expect(h.fake.calls.slice(from)).toEqual([]);
    expect(general.threadReplies(posted.ts)).toHaveLength(0);
    expect(await leakAudits(key.id)).toHaveLength(0);
  });

  it('a well-formed key rekey never issued gets nothing', async () => {
    const general = h.channel('CGENERAL');
    await h.idle();
    const from = h.fake.calls.length;
    await general.post('UOSCAR', generateToken('rk_live').token);
    await h.idle();
    expect(h.fake.calls.slice(from)).toEqual([]);
  });

  it('an expired key gets a note in the thread that it no longer works, and no alert', async () => {
    const { key, token } = await leakyKey();
    await rotateTestKey(h.services, { id: key.id }, 'now');
    await h.idle();
    const general = h.channel('CGENERAL');
    const from = h.fake.calls.length;
    const delivery = await general.post('UOSCAR', token);
    await h.idle();

    const [note, ...more] = general.threadReplies(delivery.ts);
    expect(more).toEqual([]);
    expect(messageText(note!)).toContain('no longer works');
    expect(messageText(note!)).not.toContain(ids.leak.rotateNow);
    expect(h.fake.calls.slice(from).filter((c) => c.method === 'chat.postMessage')).toEqual([note]);
    expect(await leakAudits(key.id)).toHaveLength(0);
    expect(cardText(await new HomeUser(h, 'UADA').openHome(), key.id)).not.toContain('Reported leaked');

    // Slack's retry of the same event: still one note.
    await general.redeliver(delivery, 1);
    await h.idle();
    expect(general.threadReplies(delivery.ts)).toHaveLength(1);
  });

  it('a key in a bot’s message, or in rekey’s own, is left alone', async () => {
    const { key, token } = await leakyKey();
    const general = h.channel('CGENERAL');
    await h.idle();
    const statements = counting.statements();
    const from = h.fake.calls.length;
    await general.post('UDEPLOYBOT', `deployed with ${token}`, { botId: 'BDEPLOY' });
    await general.post(h.slack.bot.userId, `deployed with ${token}`, { botId: h.slack.bot.botId });
    const botPost = await general.post('UDEPLOYBOT', 'deploying…', { botId: 'BDEPLOY' });
    await general.edit('UDEPLOYBOT', botPost.ts, {
      previousText: 'deploying…',
      text: `deployed with ${token}`,
      botId: 'BDEPLOY',
    });
    await h.idle();
    expect(h.fake.calls.slice(from)).toEqual([]);
    expect(counting.statements()).toBe(statements);
    expect(await leakAudits(key.id)).toHaveLength(0);
  });
});
