import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids } from '../../src/slack/ids.ts';
import { listAuditEvents } from '../../src/store/audit-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { uniqueName } from '../support/test-services.ts';
import { KEY_STRING, type SlackHarness, startSlackHarness } from './harness.ts';
import { HomeUser } from './home-driver.ts';

const ADMIN = 'UADMIN1';
const OTHER_ADMIN = 'UADMIN2';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database, { admins: [ADMIN, OTHER_ADMIN] });
});
afterAll(async () => {
  await h.close();
  await database.close();
});

const json = (value: unknown) => JSON.stringify(value);

/** Opens the user's Home and presses a button on it, then waits for the dialog it opens. */
async function openDialog(user: HomeUser, button: ReturnType<HomeUser['cardButton']>) {
  if (!button) throw new Error('no such button on the Home');
  const pressed = await user.press(button);
  expect(pressed.status).toBe(200);
  return user.waitForModal();
}

async function openNewKey(admin: HomeUser) {
  await admin.openHome();
  return openDialog(admin, admin.buttons(ids.home.newKey)[0]);
}

/** What the alert channel `channel` was told after `from` (an index into the fake's calls). */
const channelPosts = (channel: string, from = 0) =>
  h.fake.calls.slice(from).filter((c) => c.method === 'chat.postMessage' && c.params.channel === channel);

describe('the Home’s management buttons', () => {
  it('gives admins New key… and Delete…, and a maintainer Edit… on their cards but neither of the others', async () => {
    const key = await createTestKey(h.services, { maintainers: ['UMAYA'] });
    const admin = new HomeUser(h, ADMIN);
    const maya = new HomeUser(h, 'UMAYA');
    await admin.openHome();
    await maya.openHome();

    expect(admin.buttons(ids.home.newKey)).toHaveLength(1);
    expect(admin.cardButton(key.key.id, ids.home.edit)?.value).toBe(key.key.id);
    expect(admin.cardButton(key.key.id, ids.home.delete)).toMatchObject({
      value: key.key.id,
      style: 'danger',
    });

    expect(maya.buttons(ids.home.newKey)).toHaveLength(0);
    expect(maya.cardButton(key.key.id, ids.home.edit)?.value).toBe(key.key.id);
    expect(maya.cardButton(key.key.id, ids.home.delete)).toBeUndefined();
  });

  it('refuses Delete… to a maintainer who is not an admin, even from a forged press, and deletes nothing', async () => {
    const key = await createTestKey(h.services, { maintainers: ['UNOEL'] });
    const noel = new HomeUser(h, 'UNOEL');
    await noel.openHome();
    const forged = { action_id: ids.home.delete, value: key.key.id, text: { text: 'Delete…' } };
    const refusal = await openDialog(noel, forged);
    expect(json(refusal)).toContain('Only rekey admins can delete keys');
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true });
  });
});

describe('New key…', () => {
  it('creates the key an admin describes, reveals it once in the dialog and a private DM, and the key verifies', async () => {
    const admin = new HomeUser(h, ADMIN);
    const dialog = await openNewKey(admin);
    expect(dialog.callback_id).toBe(ids.views.newKey);
    const name = uniqueName('orders');
    const postsFrom = h.fake.calls.length;

    const created = await admin.slack.submit({
      [ids.blocks.name]: name,
      [ids.blocks.products]: 'orders, refunds',
      [ids.blocks.maintainers]: ['UOLGA', 'UPIET'],
      [ids.blocks.channel]: 'CORDERS',
      [ids.blocks.policy]: '90d',
    });

    expect(created.json).toMatchObject({
      response_action: 'update',
      view: { callback_id: ids.views.created },
    });
    const token = json(created.json?.view).match(KEY_STRING)?.[0];
    expect(token).toBeDefined();
    expect(await h.services.verifyKey(token!)).toMatchObject({
      valid: true,
      name,
      products: ['orders', 'refunds'],
      status: 'active',
    });
    const key = await h.services.showKey({ name });
    expect(key).toMatchObject({
      maintainers: ['UOLGA', 'UPIET'],
      alertChannel: 'CORDERS',
      rotateEveryDays: 90,
    });
    expect((await h.services.keyAudit({ name })).events).toMatchObject([
      { action: 'create', actor: ADMIN, source: 'slack' },
    ]);

    await h.idle();
    // The second copy: an ephemeral message in the admin's DM, never a stored message.
    const dm = h.fake.calls
      .slice(postsFrom)
      .filter((c) => json(c.params).includes(token!))
      .map((c) => ({ method: c.method, channel: c.params.channel, user: c.params.user }));
    expect(dm).toEqual([{ method: 'chat.postEphemeral', channel: `D${ADMIN}`, user: ADMIN }]);
    // The channel is told who created what, without the key.
    const notice = channelPosts('CORDERS', postsFrom);
    expect(notice).toHaveLength(1);
    expect(json(notice[0]!.params)).toContain(`<@${ADMIN}> created the key`);
    expect(json(notice[0]!.params)).not.toMatch(KEY_STRING);
    // Nothing else carries it: not the logs, not the Homes published since.
    expect(h.logs.join('\n')).not.toContain(token!);

    // A second click on "Create key" (the same dialog) creates nothing and shows no key.
    const again = await admin.slack.resubmit();
    expect(json(again.json)).toContain('already created from this dialog');
    expect(json(again.json)).not.toMatch(KEY_STRING);
    expect((await h.services.listKeys()).filter((k) => k.name === name)).toHaveLength(1);
  });

  it('keeps the dialog open with the problem under its input for a taken name, a bad product or no maintainer, and creates nothing', async () => {
    const existing = await createTestKey(h.services);
    const admin = new HomeUser(h, ADMIN);
    await openNewKey(admin);
    const before = (await h.services.listKeys()).length;
    const valid = {
      [ids.blocks.name]: uniqueName('fine'),
      [ids.blocks.maintainers]: ['UOLGA'],
      [ids.blocks.policy]: 'none',
    };

    const taken = await admin.slack.submit({ ...valid, [ids.blocks.name]: existing.key.name });
    expect(taken.json).toEqual({
      response_action: 'errors',
      errors: {
        [ids.blocks.name]: expect.stringContaining(`A key named "${existing.key.name}" already exists`),
      },
    });
    const badProduct = await admin.slack.submit({ ...valid, [ids.blocks.products]: 'orders, no/slash' });
    expect(badProduct.json).toEqual({
      response_action: 'errors',
      errors: { [ids.blocks.products]: expect.stringContaining('"no/slash" is not a valid product name') },
    });
    const nobody = await admin.slack.submit({ ...valid, [ids.blocks.maintainers]: [] });
    expect(nobody.json).toEqual({
      response_action: 'errors',
      errors: { [ids.blocks.maintainers]: expect.stringContaining('at least one maintainer') },
    });
    expect((await h.services.listKeys()).length).toBe(before);
  });

  it('is refused at submission to someone who is not an admin, whatever dialog they hold', async () => {
    const admin = new HomeUser(h, ADMIN);
    const dialog = await openNewKey(admin);
    const outsider = new HomeUser(h, 'UOUTSIDER');
    outsider.slack.view = dialog;
    const name = uniqueName('sneaky');
    const answer = await outsider.slack.submit({
      [ids.blocks.name]: name,
      [ids.blocks.maintainers]: ['UOUTSIDER'],
      [ids.blocks.policy]: 'none',
    });
    expect(json(answer.json)).toContain('Only rekey admins can create keys');
    expect(json(answer.json)).not.toMatch(KEY_STRING);
    expect((await h.services.listKeys()).some((k) => k.name === name)).toBe(false);
  });
});

describe('Edit…', () => {
  it('lets a maintainer change the rotation policy: audited before and after, announced in the channel', async () => {
    const key = await createTestKey(h.services, { maintainers: ['URUTH'], alertChannel: 'CRUTH' });
    const ruth = new HomeUser(h, 'URUTH');
    await ruth.openHome();
    const dialog = await openDialog(ruth, ruth.cardButton(key.key.id, ids.home.edit));
    // A maintainer's dialog has the key's policies as its only inputs.
    expect(dialog.blocks.filter((b) => b.type === 'input').map((b) => b.block_id)).toEqual([
      ids.blocks.policy,
      ids.blocks.onLeak,
    ]);
    const postsFrom = h.fake.calls.length;

    const saved = await ruth.slack.submit({ [ids.blocks.policy]: '30d' });

    expect(saved.json).toMatchObject({ response_action: 'update' });
    expect(json(saved.json)).toContain('every 30 days');
    expect((await h.services.showKey({ id: key.key.id })).rotateEveryDays).toBe(30);
    expect((await h.services.keyAudit({ id: key.key.id })).events.at(-1)).toMatchObject({
      action: 'edit',
      actor: 'URUTH',
      source: 'slack',
      details: { before: { rotateEveryDays: null }, after: { rotateEveryDays: 30 } },
    });
    await h.idle();
    const notice = channelPosts('CRUTH', postsFrom);
    expect(notice).toHaveLength(1);
    expect(json(notice[0]!.params)).toContain('<@URUTH> changed');
    expect(json(notice[0]!.params)).toContain('rotation policy: no rotation policy → every 30 days');
  });

  it('refuses a maintainer’s change of the maintainers (a dialog from when they were an admin, or forged) and changes nothing', async () => {
    const key = await createTestKey(h.services, { maintainers: ['USAM', 'UTOM'] });
    const admin = new HomeUser(h, ADMIN);
    await admin.openHome();
    const adminDialog = await openDialog(admin, admin.cardButton(key.key.id, ids.home.edit));
    const sam = new HomeUser(h, 'USAM');
    sam.slack.view = adminDialog;

    const answer = await sam.slack.submit({ [ids.blocks.maintainers]: ['USAM'], [ids.blocks.policy]: '30d' });

    expect(json(answer.json)).toContain(
      'Only rekey admins can change a key’s name, products, maintainers or alert channel',
    );
    const after = await h.services.showKey({ id: key.key.id });
    expect(after).toMatchObject({ maintainers: ['USAM', 'UTOM'], rotateEveryDays: null });
    expect((await h.services.keyAudit({ id: key.key.id })).events.map((e) => e.action)).toEqual(['create']);
  });

  it('lets an admin rename a key and change its products, maintainers and channel; verification sees the new name at once', async () => {
    const key = await createTestKey(h.services, {
      products: ['search'],
      maintainers: ['UVERA'],
      alertChannel: 'COLDCHAN',
    });
    expect(await h.services.verifyKey(key.token)).toMatchObject({ name: key.key.name, products: ['search'] });
    const admin = new HomeUser(h, ADMIN);
    await admin.openHome();
    await openDialog(admin, admin.cardButton(key.key.id, ids.home.edit));
    const renamed = uniqueName('renamed');
    const postsFrom = h.fake.calls.length;

    const saved = await admin.slack.submit({
      [ids.blocks.name]: renamed,
      [ids.blocks.products]: 'search ads',
      [ids.blocks.maintainers]: ['UVERA', 'UWALT'],
      [ids.blocks.channel]: 'CNEWCHAN',
    });

    expect(saved.json).toMatchObject({ response_action: 'update' });
    expect(await h.services.verifyKey(key.token)).toMatchObject({
      valid: true,
      name: renamed,
      products: ['search', 'ads'],
    });
    expect(await h.services.showKey({ id: key.key.id })).toMatchObject({
      maintainers: ['UVERA', 'UWALT'],
      alertChannel: 'CNEWCHAN',
    });
    const edit = (await h.services.keyAudit({ id: key.key.id })).events.at(-1);
    expect(edit?.details).toEqual({
      before: { name: key.key.name, products: ['search'], maintainers: ['UVERA'], alertChannel: 'COLDCHAN' },
      after: {
        name: renamed,
        products: ['search', 'ads'],
        maintainers: ['UVERA', 'UWALT'],
        alertChannel: 'CNEWCHAN',
      },
    });
    await h.idle();
    // Both channels hear of it: the new one, and the old one that will no longer get this key's notices.
    for (const channel of ['CNEWCHAN', 'COLDCHAN']) {
      expect(json(channelPosts(channel, postsFrom).map((c) => c.params))).toContain(
        'alert channel: <#COLDCHAN> → <#CNEWCHAN>',
      );
    }
    // The new maintainer now sees the key on their Home.
    expect(json(await new HomeUser(h, 'UWALT').openHome())).toContain(renamed);
  });

  it('keeps the dialog open with the problem under the name or maintainers, and changes nothing', async () => {
    const other = await createTestKey(h.services);
    const key = await createTestKey(h.services, { maintainers: ['UXENA'] });
    const admin = new HomeUser(h, ADMIN);
    await admin.openHome();
    await openDialog(admin, admin.cardButton(key.key.id, ids.home.edit));

    const taken = await admin.slack.submit({ [ids.blocks.name]: other.key.name });
    expect(taken.json).toEqual({
      response_action: 'errors',
      errors: {
        [ids.blocks.name]: expect.stringContaining(`A key named "${other.key.name}" already exists`),
      },
    });
    const nobody = await admin.slack.submit({ [ids.blocks.maintainers]: [] });
    expect(nobody.json).toEqual({
      response_action: 'errors',
      errors: { [ids.blocks.maintainers]: expect.stringContaining('at least one maintainer') },
    });
    expect(await h.services.showKey({ id: key.key.id })).toMatchObject({
      name: key.key.name,
      maintainers: ['UXENA'],
    });
  });

  it('saves nothing over another admin’s change made while the dialog was open', async () => {
    const key = await createTestKey(h.services, { maintainers: ['UYUSUF'] });
    const first = new HomeUser(h, ADMIN);
    const second = new HomeUser(h, OTHER_ADMIN);
    await first.openHome();
    await second.openHome();
    await openDialog(first, first.cardButton(key.key.id, ids.home.edit));
    await openDialog(second, second.cardButton(key.key.id, ids.home.edit));

    expect((await second.slack.submit({ [ids.blocks.maintainers]: ['UYUSUF', 'UZOE'] })).json).toMatchObject({
      response_action: 'update',
    });
    // The first dialog still shows the old maintainers; saving it would silently drop UZOE.
    const stale = await first.slack.submit({ [ids.blocks.policy]: '60d' });

    expect(json(stale.json)).toContain('Someone else changed');
    expect(await h.services.showKey({ id: key.key.id })).toMatchObject({
      maintainers: ['UYUSUF', 'UZOE'],
      rotateEveryDays: null,
    });
  });
  it('keeps the dialog open, with what to do, when the database does not answer, and saves nothing', async () => {
    const key = await createTestKey(h.services, { maintainers: ['UDORA'] });
    const dora = new HomeUser(h, 'UDORA');
    await dora.openHome();
    await openDialog(dora, dora.cardButton(key.key.id, ids.home.edit));
    h.failDatabase(true);
    try {
      const answer = await dora.slack.submit({ [ids.blocks.policy]: '60d' });
      expect(answer.json).toEqual({
        response_action: 'errors',
        errors: { [ids.blocks.policy]: expect.stringContaining('submit the dialog again in a minute') },
      });
    } finally {
      h.failDatabase(false);
    }
    expect((await h.services.showKey({ id: key.key.id })).rotateEveryDays).toBeNull();
    // The dialog is still open with her choice: submitting again works once the database answers.
    expect((await dora.slack.resubmit()).json).toMatchObject({ response_action: 'update' });
    expect((await h.services.showKey({ id: key.key.id })).rotateEveryDays).toBe(60);
  });
});

describe('Delete…', () => {
  it('deletes only when the exact name is typed: the key stops verifying, the audit stays, the channel is told and the name is free again', async () => {
    const key = await createTestKey(h.services, { alertChannel: 'CDELETE' });
    const rotation = await rotateTestKey(h.services, { id: key.key.id }, '24h');
    const admin = new HomeUser(h, ADMIN);
    await admin.openHome();
    const dialog = await openDialog(admin, admin.cardButton(key.key.id, ids.home.delete));
    expect(dialog.callback_id).toBe(ids.views.deleteKey);
    expect(json(dialog)).not.toMatch(KEY_STRING);

    for (const wrong of [key.key.name.toUpperCase(), `${key.key.name}x`, key.key.name.slice(0, -1)]) {
      const refused = await admin.slack.submit({ [ids.blocks.confirmName]: wrong });
      expect(refused.json).toEqual({
        response_action: 'errors',
        errors: { [ids.blocks.confirmName]: expect.stringContaining(`type ${key.key.name} exactly`) },
      });
    }
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
    const postsFrom = h.fake.calls.length;

    const deleted = await admin.slack.submit({ [ids.blocks.confirmName]: key.key.name });

    expect(json(deleted.json)).toContain('is deleted');
    for (const token of [key.token, rotation.token]) {
      expect(await h.services.verifyKey(token)).toEqual({ valid: false, code: 'NOT_FOUND' });
    }
    await h.idle();
    expect(json(channelPosts('CDELETE', postsFrom).map((c) => c.params))).toContain(
      `<@${ADMIN}> deleted the key`,
    );
    expect(json(await admin.openHome())).not.toContain(key.key.id);
    // The history stays, and the name can be given to a new key.
    const reused = await createTestKey(h.services, { name: key.key.name });
    expect(await h.services.verifyKey(reused.token)).toMatchObject({ valid: true, keyId: reused.key.id });
    expect((await listAuditEvents(database.db, key.key.id)).map((e) => [e.action, e.actor])).toEqual([
      ['create', 'cli:test'],
      ['rotate', 'cli:test'],
      ['delete', ADMIN],
    ]);
  });
});
