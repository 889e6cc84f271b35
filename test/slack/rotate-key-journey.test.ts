import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELAYS, type Delay, delayMs } from '../../src/keys/delay.ts';
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
afterAll(async () => {
  await h.close();
  await database.close();
});

const json = (value: unknown) => JSON.stringify(value);

describe('/rotate-key, the whole journey', () => {
  it.each(DELAYS)(
    'rotates with delay %s, reveals the key once, and tells the alert channel',
    async (delay) => {
      const created = await createTestKey(h.services, { maintainers: ['UALICE'], alertChannel: 'CALERTS' });
      const oldToken = created.token;
      const alice = h.user('UALICE');
      const callsBefore = h.fake.calls.length;
      const logsBefore = h.logs.length;

      const command = await alice.command(created.key.name);
      expect(command.status).toBe(200);
      const modal = await alice.waitForModal();
      expect(modal.callback_id).toBe(ids.views.choose);

      const next = await alice.submit({ [ids.blocks.delay]: delay, [ids.blocks.ack]: ids.ackValue });
      expect(next.status).toBe(200);
      expect(next.json).toMatchObject({ response_action: 'update', view: { callback_id: ids.views.review } });

      const rotatedAt = h.services.clock.now();
      const rotate = await alice.submit();
      expect(rotate.status).toBe(200);
      expect(rotate.json?.response_action).toBe('update');
      const reveal = json(rotate.json?.view);
      const newToken = reveal.match(KEY_STRING)?.[0];
      expect(newToken).toBeDefined();
      expect(newToken).not.toBe(oldToken);
      expect(reveal).toContain('will not be shown again');
      await h.idle();

      // The new key works; the old one works until now + delay, and not after.
      expect(await h.services.verifyKey(newToken!)).toMatchObject({ valid: true, status: 'active' });
      const expiresAt = new Date(rotatedAt.getTime() + delayMs(delay as Delay));
      const old = await h.services.verifyKey(oldToken);
      if (delay === 'now') expect(old).toEqual({ valid: false, code: 'EXPIRED' });
      else expect(old).toMatchObject({ valid: true, status: 'expiring', expiresAt: expiresAt.toISOString() });

      // Exactly one other place got the key: an ephemeral in the user's DM with the app.
      const calls = h.fake.calls.slice(callsBefore);
      const withKey = calls.filter((c) => json(c.params).includes(newToken!));
      expect(withKey.map((c) => c.method)).toEqual(['chat.postEphemeral']);
      expect(withKey[0]!.params).toMatchObject({ channel: 'DUALICE', user: 'UALICE' });
      expect(h.fake.callsTo('conversations.open').at(-1)?.params.users).toBe('UALICE');
      for (const call of calls) {
        if (call.method === 'chat.postEphemeral') continue;
        expect(json(call.params)).not.toMatch(KEY_STRING);
      }

      // The alert channel is told who, what and when, without any key string.
      const notice = calls.find((c) => c.method === 'chat.postMessage');
      expect(notice?.params.channel).toBe('CALERTS');
      const noticeText = json(notice?.params);
      expect(noticeText).toContain('<@UALICE>');
      expect(noticeText).toContain(created.key.name);
      expect(noticeText).toContain(`<!date^${Math.floor(expiresAt.getTime() / 1000)}^`);
      expect(noticeText).not.toContain(oldToken);
      expect(noticeText).not.toMatch(KEY_STRING);

      // No log line and no payload field Slack echoes back carries a key.
      for (const line of h.logs.slice(logsBefore)) expect(line).not.toMatch(KEY_STRING);
      for (const view of [modal, next.json?.view, rotate.json?.view] as Array<Record<string, unknown>>) {
        expect(json(view.private_metadata ?? '')).not.toMatch(KEY_STRING);
        expect(json(view.callback_id)).not.toMatch(KEY_STRING);
        for (const block of (view.blocks as Array<Record<string, unknown>>) ?? []) {
          expect(json([block.block_id, (block.element as { action_id?: string })?.action_id])).not.toMatch(
            KEY_STRING,
          );
        }
      }
    },
  );
});

describe('the modal', () => {
  it('lists only the keys the user may rotate, preselects the named one, and asks the right questions', async () => {
    const mine = await createTestKey(h.services, { maintainers: ['UBOB'] });
    const alsoMine = await createTestKey(h.services, { maintainers: ['UBOB', 'UOTHER'] });
    const notMine = await createTestKey(h.services, { maintainers: ['UOTHER'] });
    const bob = h.user('UBOB');
    await bob.command(alsoMine.key.name);
    const modal = await bob.waitForModal();

    expect((modal.title as { text: string }).text.length).toBeLessThanOrEqual(24);
    expect(modal.submit).toMatchObject({ text: 'Next' });
    const text = json(modal);
    expect(text).toContain('cannot be undone');
    expect(text).toContain('can never be reinstated');
    const [keyBlock, delayBlock, ackBlock] = modal.blocks.filter((b) => b.type === 'input') as Array<{
      element: {
        options: Array<{ text: { text: string }; value: string; description?: { text: string } }>;
      } & {
        initial_option?: { value: string };
      };
      label: { text: string };
      optional?: boolean;
    }>;
    expect(keyBlock!.element.options.map((o) => o.text.text).sort()).toEqual(
      [mine.key.name, alsoMine.key.name].sort(),
    );
    expect(text).not.toContain(notMine.key.name);
    expect(keyBlock!.element.initial_option?.value).toBe(alsoMine.key.id);

    expect(delayBlock!.label.text).toBe('When should the old key stop working?');
    expect(delayBlock!.element.options.map((o) => o.text.text)).toEqual([
      'Immediately',
      '1 hour',
      '3 hours',
      '24 hours',
      '48 hours',
      '72 hours',
    ]);
    expect(delayBlock!.element.initial_option?.value).toBe('24h');
    expect(delayBlock!.element.options[0]!.description?.text).toMatch(/no transition time/i);

    expect(ackBlock!.element.options.map((o) => o.text.text)).toEqual([
      'I understand that rotation cannot be undone',
    ]);
    expect(ackBlock!.optional ?? false).toBe(false);
  });

  it('preselects the only key a user maintains', async () => {
    const only = await createTestKey(h.services, { maintainers: ['UCAROL'] });
    const carol = h.user('UCAROL');
    await carol.command('');
    const modal = await carol.waitForModal();
    expect(json(modal)).toContain(`"initial_option":{"text":{"type":"plain_text","text":"${only.key.name}"`);
  });

  it('reviews the key, its products, the old key and when it stops working, before rotating', async () => {
    const created = await createTestKey(h.services, {
      maintainers: ['UDAN'],
      products: ['orders', 'search'],
    });
    const dan = h.user('UDAN');
    await dan.command(created.key.name);
    await dan.waitForModal();
    const next = await dan.submit({ [ids.blocks.delay]: '3h', [ids.blocks.ack]: ids.ackValue });
    const review = next.json?.view as Record<string, unknown>;
    const text = json(review);
    const at = Math.floor((h.services.clock.now().getTime() + 3 * 3_600_000) / 1000);
    expect(review.submit).toMatchObject({ text: 'Rotate key' });
    expect(text).toContain(created.key.name);
    expect(text).toContain('orders, search');
    expect(text).toContain(created.key.current!.display);
    expect(text).toContain(`<!date^${at}^{date_short_pretty} at {time}|`);
    expect(text).toContain('in 3 hours');
    expect(text).toContain('The new key is shown once, only to you');
    expect(review.private_metadata).toBe(json({ keyId: created.key.id, delay: '3h', acknowledged: true }));
    // Nothing has changed yet.
    expect(await h.services.verifyKey(created.token)).toMatchObject({ valid: true, status: 'active' });
  });

  it('keeps the modal open with an error on the checkbox when the acknowledgement is missing', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UERIN'] });
    const erin = h.user('UERIN');
    await erin.command(created.key.name);
    await erin.waitForModal();
    const next = await erin.submit({ [ids.blocks.ack]: [] });
    expect(next.json).toEqual({
      response_action: 'errors',
      errors: { [ids.blocks.ack]: 'Please confirm that you understand rotation cannot be undone.' },
    });
    expect(await rotationsOf(h.services, created.key.id)).toBe(0);
  });
});

describe('timing', () => {
  it('acknowledges the command well under 3 s and opens the modal within the trigger’s 3 s', async () => {
    const created = await createTestKey(h.services, { maintainers: ['UFAY'] });
    const fay = h.user('UFAY');
    const command = await fay.command(created.key.name);
    await fay.waitForModal();
    const opened = h.fake.callsTo('views.open').at(-1)!;
    expect(command.ms).toBeLessThan(1000);
    expect(opened.at - fay.lastCommand!.sentAt).toBeLessThan(3000);

    const next = await fay.submit({ [ids.blocks.ack]: ids.ackValue });
    const rotate = await fay.submit();
    expect(next.ms).toBeLessThan(1000);
    expect(rotate.ms).toBeLessThan(1000);
  });
});
