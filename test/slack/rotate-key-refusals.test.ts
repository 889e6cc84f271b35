import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../db/schema/index.ts';
import { ids } from '../../src/slack/ids.ts';
import { commandBody, postToSlackEndpoint } from '../fake-slack/index.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor } from '../support/test-services.ts';
import { KEY_STRING, rotationsOf, SIGNING_SECRET, type SlackHarness, startSlackHarness } from './harness.ts';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database, { admins: ['UADMIN'] });
});
afterAll(async () => {
  await h.close();
  await database.close();
});

const replyText = (reply: Record<string, unknown>) => JSON.stringify(reply);

describe('requests that are not from Slack', () => {
  const body = (userId: string, name: string) =>
    commandBody({
      command: '/rotate-key',
      text: name,
      userId,
      triggerId: h.fake.issueTrigger(userId),
      responseUrl: h.fake.responseUrl(),
    });

  it.each([
    ['unsigned', { unsigned: true }],
    ['forged', { signature: `v0=${'0'.repeat(64)}` }],
    ['signed with another secret', { signingSecret: 'not-the-secret' }],
    ['ten minutes old', { timestamp: Math.floor(Date.now() / 1000) - 600 }],
  ])('answers 401 to a %s request and changes nothing', async (_label, variant) => {
    const created = await createTestKey(h.services, { maintainers: ['UMALLORY'] });
    await h.slack.home.settled(); // the new key's maintainer gets their Home refreshed first
    const callsBefore = h.fake.calls.length;
    const response = await postToSlackEndpoint(h.url, body('UMALLORY', created.key.name), {
      signingSecret: SIGNING_SECRET,
      ...variant,
    });
    expect(response.status).toBe(401);
    await h.idle();
    expect(h.fake.calls.length).toBe(callsBefore);
    expect(await rotationsOf(h.services, created.key.id)).toBe(0);
  });
});

describe('answers that stop the journey before it starts', () => {
  it('explains usage on /rotate-key help, only to the user', async () => {
    const anyone = h.user('UANY');
    const response = await anyone.command('help');
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ response_type: 'ephemeral' });
    expect(response.text).toContain('/rotate-key [key-name]');
    await h.idle();
    expect(
      h.fake.callsTo('views.open').some((c) => c.params.trigger_id === anyone.lastCommand!.triggerId),
    ).toBe(false);
  });

  it('tells a user who may rotate nothing why, instead of an empty modal', async () => {
    const nobody = h.user('UNOBODY');
    const response = await nobody.command('');
    expect(response.status).toBe(200);
    const reply = await nobody.waitForReply();
    expect(reply.response_type).toBe('ephemeral');
    expect(replyText(reply)).toContain('You do not maintain any key');
    expect(
      h.fake.callsTo('views.open').some((c) => c.params.trigger_id === nobody.lastCommand!.triggerId),
    ).toBe(false);
  });

  it('answers a name the user may not rotate the same whether or not the key exists, naming no maintainer', async () => {
    await createTestKey(h.services, { maintainers: ['UVIC'] });
    const guarded = await createTestKey(h.services, { name: 'vv-guarded', maintainers: ['UOWNER'] });
    const gone = await createTestKey(h.services, { name: 'vv-gone', maintainers: ['UOWNER'] });
    await h.services.deleteKey({ key: { id: gone.key.id }, actor: cliActor });
    const vic = h.user('UVIC');
    const answerTo = async (name: string) => {
      await vic.command(name);
      const reply = await vic.waitForReply();
      expect(reply.response_type).toBe('ephemeral');
      expect(
        h.fake.callsTo('views.open').some((c) => c.params.trigger_id === vic.lastCommand!.triggerId),
      ).toBe(false);
      // The same words for every name, once the name itself is taken out.
      return replyText(reply).replaceAll(name, 'NAME');
    };
    const exists = await answerTo(guarded.key.name);
    expect(await answerTo('vv-never-created')).toBe(exists);
    expect(await answerTo(gone.key.name)).toBe(exists);
    expect(exists).toContain('There is no key named \\"NAME\\" that you may rotate');
    expect(exists).toContain('Check the name');
    expect(exists).not.toContain('<@UOWNER>');
    expect(exists).not.toContain('maintainer of');
    expect(await rotationsOf(h.services, guarded.key.id)).toBe(0);
  });

  it('tells the user when no key has that name', async () => {
    await createTestKey(h.services, { maintainers: ['UWEN'] });
    const wen = h.user('UWEN');
    await wen.command('no-such-key');
    const reply = await wen.waitForReply();
    expect(replyText(reply)).toContain('There is no key named');
    expect(replyText(reply)).toContain('Check the name');
  });

  it('never repeats a key string pasted where the name belongs, and says to treat it as exposed', async () => {
    const pasted = await createTestKey(h.services, { maintainers: ['UYUL'] });
    const yul = h.user('UYUL');
    await yul.command(pasted.token);
    const reply = await yul.waitForReply();
    expect(replyText(reply)).toContain('looks like an API key, not the name of one');
    expect(replyText(reply)).toContain('rotate its key');
    expect(JSON.stringify(reply)).not.toMatch(KEY_STRING);
    expect(
      h.fake.callsTo('views.open').filter((c) => JSON.stringify(c.params).includes(pasted.key.name)),
    ).toEqual([]);
  });

  it('tells the user when the named key was deleted', async () => {
    const gone = await createTestKey(h.services, { maintainers: ['UXAV'] });
    await createTestKey(h.services, { maintainers: ['UXAV'] });
    await h.services.deleteKey({ key: { id: gone.key.id }, actor: cliActor });
    const xav = h.user('UXAV');
    await xav.command(gone.key.name);
    const reply = await xav.waitForReply();
    expect(replyText(reply)).toContain('has been deleted');
  });

  it('lets an admin rotate a key they do not maintain', async () => {
    const created = await createTestKey(h.services, { maintainers: ['USOMEONE'] });
    const admin = h.user('UADMIN');
    await admin.command(created.key.name);
    await admin.waitForModal();
    await admin.submit({ [ids.blocks.ack]: ids.ackValue });
    const rotate = await admin.submit();
    expect(JSON.stringify(rotate.json)).toMatch(KEY_STRING);
    expect(await rotationsOf(h.services, created.key.id)).toBe(1);
  });
});

describe('changes between the steps', () => {
  it('refuses at the last step when the permission was removed meanwhile, and says so in the modal', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UYARA', 'UZED'] });
    const yara = h.user('UYARA');
    await yara.command(created.key.name);
    await yara.waitForModal();
    await yara.submit({ [ids.blocks.ack]: ids.ackValue });
    await database.db
      .update(keys)
      .set({ maintainers: ['UZED'] })
      .where(eq(keys.id, created.key.id));

    const rotate = await yara.submit();
    expect(rotate.status).toBe(200);
    const text = JSON.stringify(rotate.json);
    expect(rotate.json?.response_action).toBe('update');
    expect(text).toContain(`You are no longer a maintainer of \\"${created.key.name}\\"`);
    expect(text).not.toMatch(KEY_STRING);
    expect(await rotationsOf(h.services, created.key.id)).toBe(0);
    expect(await h.services.verifyKey(created.token)).toMatchObject({ valid: true, status: 'active' });
    await h.idle();
    expect(h.fake.callsTo('chat.postEphemeral').filter((c) => c.params.user === 'UYARA')).toEqual([]);
  });

  it('refuses at the last step when the key was deleted meanwhile', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UZOE'] });
    const zoe = h.user('UZOE');
    await zoe.command(created.key.name);
    await zoe.waitForModal();
    await zoe.submit({ [ids.blocks.ack]: ids.ackValue });
    await h.services.deleteKey({ key: { id: created.key.id }, actor: cliActor });
    const rotate = await zoe.submit();
    expect(JSON.stringify(rotate.json)).toContain('has been deleted');
    expect(JSON.stringify(rotate.json)).not.toMatch(KEY_STRING);
  });

  it('rotates once on a double submission and reveals nothing the second time', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UAMY'] });
    const amy = h.user('UAMY');
    await amy.command(created.key.name);
    await amy.waitForModal();
    await amy.submit({ [ids.blocks.ack]: ids.ackValue });
    const [first, second] = await Promise.all([amy.submit(), amy.resubmit()]);
    const answers = [first, second].map((r) => JSON.stringify(r.json));
    expect(answers.filter((a) => KEY_STRING.test(a))).toHaveLength(1);
    const repeated = answers.find((a) => !a.match(KEY_STRING))!;
    expect(repeated).toContain('already rotated');
    expect(await rotationsOf(h.services, created.key.id)).toBe(1);
    await h.idle();
    expect(h.fake.callsTo('chat.postEphemeral').filter((c) => c.params.user === 'UAMY')).toHaveLength(1);
    expect(
      h.fake.callsTo('chat.postMessage').filter((c) => JSON.stringify(c.params).includes(created.key.name)),
    ).toHaveLength(1);
  });
});
