import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryTries } from '../../db/schema/index.ts';
import { ids } from '../../src/slack/ids.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, uniqueName } from '../support/test-services.ts';
import { KEY_STRING, type SlackHarness, startSlackHarness } from './harness.ts';
import { cardText, HomeUser } from './home-driver.ts';

const ADMIN = 'UADMIN1';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database, { admins: [ADMIN] });
});
afterAll(async () => {
  await h.close();
  await database.close();
});

const json = (value: unknown) => JSON.stringify(value);

async function openNewKey(admin: HomeUser) {
  await admin.openHome();
  const button = admin.buttons(ids.home.newKey)[0];
  if (!button) throw new Error('no New key… on the admin’s Home');
  expect((await admin.press(button)).status).toBe(200);
  return admin.waitForModal();
}

async function plantCanary(maintainers = ['USEC1']) {
  const { key, token } = await h.services.createKey({
    name: uniqueName('decoy'),
    alertChannel: 'CSEC',
    maintainers,
    canary: true,
    actor: cliActor,
  });
  return { key, token };
}

describe('New key… with the Canary choice', () => {
  it('creates a canary: the dialog shows its string once and says to plant it; it never verifies', async () => {
    const admin = new HomeUser(h, ADMIN);
    const dialog = await openNewKey(admin);
    expect(json(dialog)).toContain('Make it a canary (a decoy key)');
    const name = uniqueName('decoy');

    const created = await admin.slack.submit({
      [ids.blocks.name]: name,
      [ids.blocks.maintainers]: ['USEC1'],
      [ids.blocks.channel]: 'CSEC',
      [ids.blocks.canary]: [ids.canaryValue],
    });

    expect(created.json).toMatchObject({
      response_action: 'update',
      view: { callback_id: ids.views.created },
    });
    expect(json(created.json?.view)).toContain(
      'It is a canary: it never works. Plant it where an intruder would look',
    );
    const token = json(created.json?.view).match(KEY_STRING)?.[0];
    expect(token).toBeDefined();
    expect(await h.services.showKey({ name })).toMatchObject({ canary: true, rotateEveryDays: null });
    expect(await h.services.verifyKey(token!)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('refuses a canary with a rotation policy under the policy input, creating nothing', async () => {
    const admin = new HomeUser(h, ADMIN);
    await openNewKey(admin);
    const name = uniqueName('decoy');
    const refused = await admin.slack.submit({
      [ids.blocks.name]: name,
      [ids.blocks.maintainers]: ['USEC1'],
      [ids.blocks.policy]: '90d',
      [ids.blocks.canary]: [ids.canaryValue],
    });
    expect(refused.json).toMatchObject({ response_action: 'errors' });
    expect(json(refused.json)).toContain(ids.blocks.policy);
    expect(json(refused.json)).toContain('takes no rotation policy');
    expect((await h.services.listKeys()).map((k) => k.name)).not.toContain(name);
  });
});

describe('a canary on the Home', () => {
  it('its card says what it is and when it was last tried, and offers no Rotate… nor End grace', async () => {
    const canary = await plantCanary(['UCARD']);
    const user = new HomeUser(h, 'UCARD');
    let card = cardText(await user.openHome(), canary.key.id);
    expect(card).toContain(':bird: _canary_');
    expect(card).toContain('never valid');
    expect(card).toContain('*Last tried*\\n_never_');
    expect(card).toContain(canary.key.current!.display);
    expect(user.cardButton(canary.key.id, ids.home.rotate)).toBeUndefined();
    expect(user.cardButton(canary.key.id, ids.home.endGrace)).toBeUndefined();
    expect(user.cardButton(canary.key.id, ids.home.history)).toBeDefined();

    const triedAt = h.services.clock.now();
    await h.services.reportLeak({
      token: canary.token,
      place: { kind: 'scanner', source: 'github', url: 'https://github.com/acme/shop/blob/1/.env' },
    });
    card = cardText(await user.openHome(), canary.key.id);
    expect(card).toContain(`*Last tried*\\n:rotating_light: <!date^${Math.floor(triedAt.getTime() / 1000)}^`);
  });
});

describe('a canary can never be rotated from Slack', () => {
  it('/rotate-key with its name says it is a canary and opens nothing; the picker never lists canaries', async () => {
    const canary = await plantCanary(['UROT']);
    const working = await createTestKey(h.services, { maintainers: ['UROT'] });
    const user = h.user('UROT');

    await user.command(canary.key.name);
    const reply = await user.waitForReply();
    expect(reply.response_type).toBe('ephemeral');
    expect(json(reply)).toContain('is a canary (a decoy key) and is never rotated');
    expect(
      h.fake.callsTo('views.open').some((c) => c.params.trigger_id === user.lastCommand!.triggerId),
    ).toBe(false);

    await user.command('');
    const picker = await user.waitForModal();
    expect(json(picker)).toContain(working.key.id);
    expect(json(picker)).not.toContain(canary.key.id);
    expect((await h.services.keyAudit({ id: canary.key.id })).events.map((e) => e.action)).toEqual([
      'create',
    ]);
  });

  it('a forged Rotate… press on the canary’s id is refused the same way', async () => {
    const canary = await plantCanary(['UFORGE']);
    const user = new HomeUser(h, 'UFORGE');
    await user.openHome();
    await user.press({ action_id: ids.home.rotate, value: canary.key.id, text: { text: 'Rotate…' } });
    expect(json(await user.waitForModal())).toContain('is never rotated');
    expect((await h.services.keyAudit({ id: canary.key.id })).events.map((e) => e.action)).toEqual([
      'create',
    ]);
  });
});

describe('a canary pasted in a channel', () => {
  it('gets no reply in the channel (as for a key rekey never issued), and its try is recorded for the alarm', async () => {
    const canary = await plantCanary();
    const general = h.channel('CGENERAL');
    const from = h.fake.calls.length;
    await general.post('UOSCAR', `try this: ${canary.token}`);
    await h.idle();
    expect(h.fake.calls.slice(from).filter((c) => c.method === 'chat.postMessage')).toEqual([]);
    const tries = await database.db.select().from(canaryTries).where(eq(canaryTries.keyId, canary.key.id));
    expect(tries).toMatchObject([
      { via: 'slack_message', place: { channel: 'CGENERAL', postedBy: 'UOSCAR' } },
    ]);
  });
});
