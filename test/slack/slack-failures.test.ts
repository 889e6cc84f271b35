import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ids } from '../../src/slack/ids.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { KEY_STRING, rotationsOf, type SlackHarness, startSlackHarness } from './harness.ts';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database);
});
afterEach(() => h.failDatabase(false));
afterAll(async () => {
  await h.close();
  await database.close();
});

/** Opens the modal and passes "Next", so the user faces the review with "Rotate key". */
async function reachReview(userId: string, alertChannel: string | null = 'CALERTS') {
  const created = await createTestKey(h.services, { maintainers: [userId], alertChannel });
  const user = h.user(userId);
  await user.command(created.key.name);
  await user.waitForModal();
  await user.submit({ [ids.blocks.ack]: ids.ackValue });
  return { created, user };
}

describe('Slack Web API failures', () => {
  it('answers with an ephemeral message saying what to do when Slack fails views.open (HTTP 500)', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UHAL'] });
    h.fake.fail('views.open', { status: 500 });
    const hal = h.user('UHAL');
    const command = await hal.command(created.key.name);
    expect(command.status).toBe(200);
    const reply = JSON.stringify(await hal.waitForReply());
    expect(reply).toContain('Slack did not accept');
    expect(reply).toContain('Nothing was changed');
    expect(reply).toContain('/rotate-key');
    expect(await rotationsOf(h.services, created.key.id)).toBe(0);
  });

  it('asks the user to run the command again when the trigger expired', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UIDA'] });
    h.fake.fail('views.open', { error: 'expired_trigger_id' });
    const ida = h.user('UIDA');
    await ida.command(created.key.name);
    const reply = JSON.stringify(await ida.waitForReply());
    expect(reply).toContain('took too long to open');
    expect(reply).toContain('run `/rotate-key` again');
  });

  it('still shows the new key in the modal, and sends it privately, when the rotation outlasts Slack\u2019s 3 s', async () => {
    const { created, user } = await reachReview('ULATE');
    const rotateKey = h.services.rotateKey;
    h.services.rotateKey = async (input) => {
      await new Promise((resolve) => setTimeout(resolve, 3_300));
      return rotateKey(input);
    };
    try {
      const modalId = user.view!.id;
      const rotate = await user.submit();
      // Bolt answered on its own after 3 s (Slack shows a connection error in the modal)…
      expect(rotate.status).not.toBe(200);
      // …and the key still reaches the open modal, and the DM.
      const update = await h.fake.waitFor(
        (c) => c.method === 'views.update' && c.params.view_id === modalId,
        5_000,
      );
      expect(update.outcome).toBe('ok');
      expect(JSON.stringify(update.params.view)).toMatch(KEY_STRING);
      const dm = await h.fake.waitFor(
        (c) => c.method === 'chat.postEphemeral' && c.params.user === 'ULATE',
        5_000,
      );
      expect(JSON.stringify(dm.params)).toMatch(KEY_STRING);
      expect(await rotationsOf(h.services, created.key.id)).toBe(1);
    } finally {
      h.services.rotateKey = rotateKey;
    }
  }, 20_000);

  it('keeps the rotation and the key in the modal when the ephemeral DM cannot be delivered', async () => {
    const { created, user } = await reachReview('UJON');
    h.fake.fail('chat.postEphemeral', { error: 'user_not_in_channel' });
    const rotate = await user.submit();
    expect(JSON.stringify(rotate.json)).toMatch(KEY_STRING);
    await h.idle();
    expect(await rotationsOf(h.services, created.key.id)).toBe(1);
    expect(h.fake.callsTo('chat.postEphemeral').at(-1)?.outcome).toBe('user_not_in_channel');
    const line = h.logs.find((l) => l.includes('could not send the new key'));
    expect(line).toContain('user_not_in_channel');
    expect(line).not.toMatch(KEY_STRING);
  });

  it('logs a hint to invite the bot when it is not in the alert channel, and the rotation stands', async () => {
    const { created, user } = await reachReview('UKIM', 'CPRIVATE');
    h.fake.fail('chat.postMessage', { error: 'not_in_channel' });
    const rotate = await user.submit();
    expect(JSON.stringify(rotate.json)).toMatch(KEY_STRING);
    await h.idle();
    expect(await rotationsOf(h.services, created.key.id)).toBe(1);
    const line = h.logs.find((l) => l.includes('"code":"not_in_channel"'));
    expect(line).toContain('invite the bot to <#CPRIVATE>');
    expect(line).toContain('the rotation itself stands');
  });

  it('keeps the rotation when Slack answers the channel notice with HTTP 500', async () => {
    const { created, user } = await reachReview('ULEO');
    h.fake.fail('chat.postMessage', { status: 500 });
    const rotate = await user.submit();
    expect(JSON.stringify(rotate.json)).toMatch(KEY_STRING);
    await h.idle();
    expect(await rotationsOf(h.services, created.key.id)).toBe(1);
    expect(
      h.logs.some((l) => l.includes('http_500') && l.includes('could not post the rotation notice')),
    ).toBe(true);
  });
});

describe('the database failing mid-journey', () => {
  it('tells the user in an ephemeral message when the database is down at the command', async () => {
    await createTestKey(h.services, { maintainers: ['UMIA'] });
    h.failDatabase(true);
    const mia = h.user('UMIA');
    const command = await mia.command('');
    expect(command.status).toBe(200);
    const reply = JSON.stringify(await mia.waitForReply());
    expect(reply).toContain('could not reach its database');
    expect(reply).toContain('Nothing was changed');
  });

  it('keeps the modal open with the error on the key when the database fails at Next', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UNED'] });
    const ned = h.user('UNED');
    await ned.command(created.key.name);
    await ned.waitForModal();
    h.failDatabase(true);
    const next = await ned.submit({ [ids.blocks.ack]: ids.ackValue });
    expect(next.json?.response_action).toBe('errors');
    expect(JSON.stringify(next.json)).toContain('press Next again');
    h.failDatabase(false);
    const retried = await ned.submit({ [ids.blocks.ack]: ids.ackValue });
    expect(retried.json).toMatchObject({
      response_action: 'update',
      view: { callback_id: ids.views.review },
    });
  });

  it('shows in the modal that nothing changed when the database fails at the final step', async () => {
    const { created, user } = await reachReview('UOLA');
    const callsBefore = h.fake.calls.length;
    h.failDatabase(true);
    const rotate = await user.submit();
    h.failDatabase(false);
    const text = JSON.stringify(rotate.json);
    expect(rotate.status).toBe(200);
    expect(rotate.json?.response_action).toBe('update');
    expect(text).toContain('could not reach its database');
    expect(text).toContain('Nothing was changed');
    expect(text).not.toMatch(KEY_STRING);
    await h.idle();
    expect(h.fake.calls.slice(callsBefore)).toEqual([]);
    expect(await rotationsOf(h.services, created.key.id)).toBe(0);
    expect(await h.services.verifyKey(created.token)).toMatchObject({ valid: true, status: 'active' });
  });
});

describe('Slack rate limits', () => {
  it('waits out a 429 with Retry-After and still opens the modal', async () => {
    // A harness of its own (one Slack client retry), on the file's database.
    const patient = await startSlackHarness(database, { retries: 1 });
    try {
      const created = await createTestKey(patient.services, { maintainers: ['UPAM'] });
      patient.fake.fail('views.open', { status: 429, retryAfter: 1 });
      const pam = patient.user('UPAM');
      const command = await pam.command(created.key.name);
      expect(command.ms).toBeLessThan(1000);
      await pam.waitForModal();
      const [limited, opened] = patient.fake.callsTo('views.open');
      expect(limited?.outcome).toBe('http_429');
      expect(opened?.outcome).toBe('ok');
      expect(opened!.at - limited!.at).toBeGreaterThanOrEqual(1000);
      expect(opened!.at - pam.lastCommand!.sentAt).toBeLessThan(3000);
    } finally {
      await patient.close();
    }
  });
});
