import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ids } from '../../src/slack/ids.ts';
import { DAY, policyKey, policyTick } from '../scheduler/policy-support.ts';
import { type Post, recordingPoster } from '../scheduler/support.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { KEY_STRING, type SlackHarness, startSlackHarness } from './harness.ts';
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

/** A press of the policy reminder's Rotate…, as Slack sends it. */
function pressRotate(userId: string, post: Post) {
  return pressPostedButton(h, userId, post, ids.home.rotate, '1700000000.000200');
}

describe('Rotate… on a rotation-policy reminder', () => {
  it('opens the normal rotation dialog on that key for a maintainer, and refuses anyone else privately', async () => {
    const key = await policyKey(h.services, 10);
    const slack = recordingPoster(h.services.clock);
    h.services.clock.advance(3 * DAY);
    await policyTick(database, h.services.clock, slack.poster);
    const post = slack.posts.find((p) => p.channel === key.channel)!;
    expect(post.text).toContain('due for rotation in 7 days');

    expect((await pressRotate(key.maintainers[0]!, post)).status).toBe(200);
    const opened = await h.fake.waitFor(
      (c) => c.method === 'views.open' && JSON.stringify(c.params).includes(ids.views.choose),
    );
    expect(JSON.stringify(opened.params)).toContain(key.name);
    expect(JSON.stringify(opened.params)).not.toMatch(KEY_STRING);

    expect((await pressRotate('UOUTSIDER', post)).status).toBe(200);
    const refusal = await h.fake.waitFor(
      (c) => c.method === 'chat.postEphemeral' && c.params.user === 'UOUTSIDER',
    );
    expect(refusal.params.channel).toBe(key.channel);
    expect(JSON.stringify(refusal.params)).toContain('cannot rotate it');
  });
});
