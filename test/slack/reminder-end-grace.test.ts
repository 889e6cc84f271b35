import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids } from '../../src/slack/ids.ts';
import { type Post, recordingPoster, rotatedKey, tick } from '../scheduler/support.ts';
import { rotateTestKey } from '../support/fixtures.ts';
import { HOUR } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { slackActor } from '../support/test-services.ts';
import { KEY_STRING, type SlackHarness, settle, startSlackHarness } from './harness.ts';
import { pressPostedButton } from './press-posted-button.ts';

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

/** The reminder for a never-used old key, as the scheduler posts it to the key's channel. */
async function reminderFor(maintainer: string) {
  const key = await rotatedKey(h.services, '24h', { actor: slackActor(maintainer) });
  const slack = recordingPoster(h.services.clock);
  h.services.clock.set(new Date(key.expiresAt.getTime() - HOUR));
  await tick(database, h.services.clock, slack.poster);
  const post = slack.posts.find((p) => p.channel === key.channel)!;
  return { key, post };
}

/** A press of the reminder's End grace now, after Slack's confirmation, as Slack sends it. */
function press(userId: string, post: Post) {
  return pressPostedButton(h, userId, post, ids.home.endGrace, '1700000000.000100');
}

describe('End grace now on a reminder', () => {
  it('is refused to someone who may not manage the key, in a reply only they see naming who can', async () => {
    const { key, post } = await reminderFor('UROSA');
    const eventsBefore = (await h.services.keyAudit({ name: key.name })).events.length;
    expect((await press('UNOPE', post)).status).toBe(200);
    const refusal = await h.fake.waitFor(
      (c) => c.method === 'chat.postEphemeral' && c.params.user === 'UNOPE',
    );
    expect(refusal.params.channel).toBe(key.channel);
    expect(JSON.stringify(refusal.params)).toContain('cannot end its grace period');
    expect(JSON.stringify(refusal.params)).toContain('<@UROSA>');
    expect(JSON.stringify(refusal.params)).not.toMatch(KEY_STRING);
    await settle();
    expect(await h.services.verifyKey(key.oldToken)).toMatchObject({ valid: true, status: 'expiring' });
    expect((await h.services.keyAudit({ name: key.name })).events).toHaveLength(eventsBefore);
  });

  it('ends exactly that old key for a maintainer, audited, and tells the channel', async () => {
    const { key, post } = await reminderFor('USAUL');
    expect((await press('USAUL', post)).status).toBe(200);
    const notice = await h.fake.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.params.channel === key.channel &&
        JSON.stringify(c.params).includes('ended'),
    );
    expect(JSON.stringify(notice.params)).toContain('<@USAUL>');
    expect(JSON.stringify(notice.params)).not.toMatch(KEY_STRING);
    expect(await h.services.verifyKey(key.oldToken)).toEqual({ valid: false, code: 'EXPIRED' });
    const audit = await h.services.keyAudit({ name: key.name });
    expect(audit.events.at(-1)).toMatchObject({ action: 'end_grace', actor: 'USAUL', source: 'slack' });
  });

  it('ends nothing after a newer rotation, and says so in words that fit a reminder', async () => {
    const { key, post } = await reminderFor('UVERA');
    const newer = await rotateTestKey(h.services, { name: key.name }, '24h', slackActor('UVERA'));
    expect((await press('UVERA', post)).status).toBe(200);
    const reply = await h.fake.waitFor((c) => c.method === 'chat.postEphemeral' && c.params.user === 'UVERA');
    expect(reply.params.channel).toBe(key.channel);
    const text = JSON.stringify(reply.params);
    expect(text).toContain('was rotated again after the message you pressed End grace now on was shown');
    expect(text).not.toContain('card');
    expect(text).not.toMatch(KEY_STRING);
    // Both old keys still work: the one the reminder named, and the one the newer rotation replaced.
    expect(await h.services.verifyKey(key.oldToken)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await h.services.verifyKey(key.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await h.services.verifyKey(newer.token)).toMatchObject({ valid: true, status: 'active' });
  });
});
