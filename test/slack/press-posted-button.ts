import { blockActionsPayload } from '../../src/fake-slack/slack-payloads.ts';
import { postToSlackEndpoint } from '../fake-slack/index.ts';
import type { Post } from '../scheduler/support.ts';
import { SIGNING_SECRET, type SlackHarness } from './harness.ts';

interface Shown {
  block_id?: string;
  accessory?: { type: string; action_id: string; value: string; text: { text: string } };
}

/**
 * A press of the button `actionId` on a message rekey posted (a reminder, a notice), as Slack sends it:
 * signed block_actions with the message attached, after any confirmation dialog.
 */
export function pressPostedButton(h: SlackHarness, userId: string, post: Post, actionId: string, ts: string) {
  const block = (post.blocks as Shown[]).find((b) => b.accessory?.action_id === actionId)!;
  const button = block.accessory!;
  const payload = blockActionsPayload({
    userId,
    triggerId: h.fake.issueTrigger(userId),
    action: {
      type: 'button',
      action_id: button.action_id,
      block_id: block.block_id ?? 'b1',
      text: button.text,
      value: button.value,
    },
    message: { ts, channelId: post.channel, text: post.text, blocks: post.blocks },
  });
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return postToSlackEndpoint(h.url, body, { signingSecret: SIGNING_SECRET });
}
