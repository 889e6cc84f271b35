import { type Logger, LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from './index.ts';

let fake: FakeSlack;
let client: WebClient;
/** The SDK logs every refused call; these refusals are the point of the tests. */
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};
beforeAll(async () => {
  fake = await startFakeSlack({ botToken: 'xoxb-fake' });
  client = new WebClient('xoxb-fake', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger });
});
afterAll(() => fake.close());

const modal = (overrides: Record<string, unknown> = {}) => ({
  type: 'modal' as const,
  title: { type: 'plain_text' as const, text: 'Rotate a key' },
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }],
  ...overrides,
});
const option = (value: string, text = value) => ({ text: { type: 'plain_text', text }, value });
const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (error: { data?: { error?: string; response_metadata?: { messages?: string[] } } }) =>
      `${error.data?.error} ${error.data?.response_metadata?.messages?.join(' ') ?? ''}`.trim(),
  );

describe('the fake refuses what Slack refuses', () => {
  const open = (view: Record<string, unknown>) =>
    errorOf(client.views.open({ trigger_id: fake.issueTrigger('U1'), view: view as never }));

  it('accepts a valid modal and records the call', async () => {
    expect(await open(modal())).toBe('ok');
    expect(fake.callsTo('views.open').at(-1)?.outcome).toBe('ok');
  });

  it.each([
    [
      'a title over 24 characters',
      modal({ title: { type: 'plain_text', text: 'x'.repeat(25) } }),
      '/view/title/text',
    ],
    [
      'a submit over 24 characters',
      modal({ submit: { type: 'plain_text', text: 'x'.repeat(25) } }),
      '/view/submit',
    ],
    ['more than 100 blocks', modal({ blocks: Array(101).fill({ type: 'divider' }) }), '/view/blocks'],
    [
      'private_metadata over 3000 characters',
      modal({ private_metadata: 'x'.repeat(3001) }),
      'private_metadata',
    ],
    ['an id over 255 characters', modal({ callback_id: 'x'.repeat(256) }), '/view/callback_id'],
    [
      'an initial_option that is not one of the options',
      modal({
        submit: { type: 'plain_text', text: 'Next' },
        blocks: [
          {
            type: 'input',
            block_id: 'b',
            label: { type: 'plain_text', text: 'L' },
            element: {
              type: 'radio_buttons',
              action_id: 'a',
              options: [option('a')],
              initial_option: option('b'),
            },
          },
        ],
      }),
      'initial_option',
    ],
    [
      'more than 10 radio buttons',
      modal({
        submit: { type: 'plain_text', text: 'Next' },
        blocks: [
          {
            type: 'input',
            label: { type: 'plain_text', text: 'L' },
            element: {
              type: 'radio_buttons',
              action_id: 'a',
              options: Array.from({ length: 11 }, (_, i) => option(`${i}`)),
            },
          },
        ],
      }),
      '/options',
    ],
    [
      'option text over 75 characters',
      modal({
        blocks: [
          {
            type: 'actions',
            elements: [{ type: 'static_select', action_id: 'a', options: [option('v', 'x'.repeat(76))] }],
          },
        ],
      }),
      '/text/text',
    ],
    [
      'a view over 250 KB',
      modal({
        blocks: Array(90).fill({ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(2990) } }),
      }),
      'smaller than',
    ],
  ])('refuses a modal with %s', async (_label, view, pointer) => {
    const answer = await open(view);
    expect(answer).toMatch(/^invalid_arguments/);
    expect(answer).toContain(pointer);
  });

  it('refuses more than 50 blocks in a message', async () => {
    const blocks = Array(51).fill({ type: 'divider' });
    expect(await errorOf(client.chat.postMessage({ channel: 'C1', text: 't', blocks }))).toMatch(
      /^invalid_blocks/,
    );
  });

  it('refuses a trigger used twice or older than 3 seconds', async () => {
    const trigger = fake.issueTrigger('U1');
    expect(await errorOf(client.views.open({ trigger_id: trigger, view: modal() }))).toBe('ok');
    expect(await errorOf(client.views.open({ trigger_id: trigger, view: modal() }))).toBe(
      'expired_trigger_id',
    );
    const late = await startFakeSlack({ triggerTtlMs: 0 });
    const lateClient = new WebClient('xoxb-any', {
      slackApiUrl: late.apiUrl,
      retryConfig: { retries: 0 },
      logger,
    });
    const stale = late.issueTrigger('U1');
    await new Promise((r) => setTimeout(r, 5));
    expect(await errorOf(lateClient.views.open({ trigger_id: stale, view: modal() }))).toBe(
      'expired_trigger_id',
    );
    await late.close();
  });

  it('refuses views.update with a stale hash', async () => {
    const opened = await client.views.open({ trigger_id: fake.issueTrigger('U1'), view: modal() });
    const id = opened.view!.id!;
    expect(await errorOf(client.views.update({ view_id: id, hash: 'stale', view: modal() }))).toBe(
      'hash_conflict',
    );
    expect(await errorOf(client.views.update({ view_id: id, hash: opened.view!.hash!, view: modal() }))).toBe(
      'ok',
    );
  });

  it('refuses an unknown bot token', async () => {
    const stranger = new WebClient('xoxb-other', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger,
    });
    expect(await errorOf(stranger.auth.test())).toBe('invalid_auth');
  });
});

describe('the fake fails on demand', () => {
  it('fails a method with ok:false, HTTP 500 or 429 with Retry-After, then recovers', async () => {
    fake.fail('chat.postMessage', { error: 'not_in_channel' });
    expect(await errorOf(client.chat.postMessage({ channel: 'C1', text: 't' }))).toBe('not_in_channel');
    fake.fail('chat.postMessage', { status: 500 });
    await expect(client.chat.postMessage({ channel: 'C1', text: 't' })).rejects.toMatchObject({
      statusCode: 500,
    });
    fake.fail('chat.postMessage', { status: 429, retryAfter: 1 });
    const patient = new WebClient('xoxb-fake', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 1, minTimeout: 0 },
      logger,
    });
    const started = Date.now();
    expect(await errorOf(patient.chat.postMessage({ channel: 'C1', text: 't' }))).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('answers auth.test, conversations.open, users.info and response URLs', async () => {
    expect(await client.auth.test()).toMatchObject({
      ok: true,
      user_id: fake.bot.userId,
      bot_id: fake.bot.botId,
    });
    expect(await client.conversations.open({ users: 'U9' })).toMatchObject({ channel: { id: 'DU9' } });
    expect(await client.users.info({ user: 'U9' })).toMatchObject({ user: { id: 'U9' } });
    const url = fake.responseUrl();
    const response = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ text: 'hi', response_type: 'ephemeral' }),
    });
    expect(response.status).toBe(200);
    expect(fake.callsTo('response_url').at(-1)?.params).toMatchObject({ text: 'hi' });
  });
});
