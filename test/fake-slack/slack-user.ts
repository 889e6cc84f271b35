import type { FakeSlack } from '../../src/fake-slack/fake-slack.ts';
import { blockActionsPayload, viewSubmissionPayload } from '../../src/fake-slack/slack-payloads.ts';
import { commandBody, interactionBody, postToSlackEndpoint, type SlackResponse } from './slack-requests.ts';

type Json = Record<string, unknown>;
export type ShownView = Json & { id: string; hash: string; blocks: Json[]; private_metadata?: string };

/**
 * What the user picked in a modal, per input block: option values (selects, radios, checkboxes), the
 * text typed (text inputs), user ids (a multi-user select) or a channel id (a conversation select).
 */
export type Choices = Record<string, string | string[] | null>;

/**
 * A person in the Slack client: runs commands, sees the modals rekey opens (through the fake) or
 * answers with (`response_action: update`), fills their inputs and submits them — every request
 * signed and shaped as Slack sends it.
 */
export class SlackUser {
  view: ShownView | undefined;
  lastCommand: { triggerId: string; responseUrl: string; sentAt: number } | undefined;

  constructor(
    private readonly ctx: { fake: FakeSlack; rekeyUrl: string; signingSecret: string },
    readonly id: string,
  ) {}

  async command(text: string, command = '/rotate-key'): Promise<SlackResponse> {
    const triggerId = this.ctx.fake.issueTrigger(this.id);
    const responseUrl = this.ctx.fake.responseUrl();
    this.lastCommand = { triggerId, responseUrl, sentAt: Date.now() };
    const body = commandBody({ command, text, userId: this.id, triggerId, responseUrl });
    return postToSlackEndpoint(this.ctx.rekeyUrl, body, { signingSecret: this.ctx.signingSecret });
  }

  /**
   * Presses a button on a message rekey posted (in a channel, a thread or the DM with the app), as
   * Slack sends it: signed `block_actions` with a fresh trigger. A modal it opens is read with
   * `waitForModal`.
   */
  async pressMessageButton(
    posted: { params: Json; result?: Json },
    actionId: string,
  ): Promise<SlackResponse> {
    const blocks = (posted.params.blocks as Json[] | undefined) ?? [];
    const block = blocks.find(
      (b) => b.type === 'actions' && (b.elements as Json[]).some((e) => e.action_id === actionId),
    );
    const button = (block?.elements as Json[] | undefined)?.find((e) => e.action_id === actionId);
    if (!button) throw new Error(`the message has no button ${actionId}`);
    const triggerId = this.ctx.fake.issueTrigger(this.id);
    this.lastCommand = { triggerId, responseUrl: '', sentAt: Date.now() };
    const payload = blockActionsPayload({
      userId: this.id,
      triggerId,
      action: { ...button, block_id: block?.block_id ?? 'actions' },
      message: {
        ts: String(posted.result?.ts ?? ''),
        channelId: String(posted.result?.channel ?? posted.params.channel),
        text: String(posted.params.text ?? ''),
        blocks,
        ...(posted.params.thread_ts ? { threadTs: String(posted.params.thread_ts) } : {}),
      },
    });
    return postToSlackEndpoint(this.ctx.rekeyUrl, interactionBody(payload), {
      signingSecret: this.ctx.signingSecret,
    });
  }

  /** Waits for rekey to open a modal with the last command's trigger; that modal becomes current. */
  async waitForModal(timeoutMs = 5000): Promise<ShownView> {
    const triggerId = this.lastCommand?.triggerId;
    const call = await this.ctx.fake.waitFor(
      (c) => c.method === 'views.open' && c.params.trigger_id === triggerId && c.outcome === 'ok',
      timeoutMs,
    );
    const id = String((call.result?.view as Json | undefined)?.id);
    this.view = this.ctx.fake.view(id) as ShownView;
    return this.view;
  }

  /** Waits for rekey's answer on the last command's response_url (an ephemeral message). */
  async waitForReply(timeoutMs = 5000): Promise<Json> {
    const url = this.lastCommand?.responseUrl;
    const path = url ? new URL(url).pathname : '';
    const call = await this.ctx.fake.waitFor(
      (c) => c.method === 'response_url' && c.path === path,
      timeoutMs,
    );
    return call.params;
  }

  /** Submits the current modal with its initial values changed by `choices`. */
  async submit(choices: Choices = {}): Promise<SlackResponse> {
    const view = this.view;
    if (!view) throw new Error('no modal is open');
    const payload = viewSubmissionPayload(view, this.id, stateFor(view, choices));
    const response = await this.resubmit(payload);
    const answer = response.json;
    if (answer?.response_action === 'update') {
      this.view = { ...(answer.view as Json), id: view.id, hash: `${view.hash}+` } as ShownView;
    }
    return response;
  }

  /** The exact payload of the last submission again (a double click). */
  lastPayload: Json | undefined;
  async resubmit(payload = this.lastPayload): Promise<SlackResponse> {
    if (!payload) throw new Error('nothing submitted yet');
    this.lastPayload = payload;
    return postToSlackEndpoint(this.ctx.rekeyUrl, interactionBody(payload), {
      signingSecret: this.ctx.signingSecret,
    });
  }
}

/** `view.state.values` as Slack builds it: each input's initial value, then the user's changes. */
export function stateFor(view: ShownView, choices: Choices): Record<string, Record<string, Json>> {
  const values: Record<string, Record<string, Json>> = {};
  for (const block of view.blocks) {
    if (block.type !== 'input') continue;
    const blockId = String(block.block_id);
    const element = block.element as Json;
    const actionId = String(element.action_id);
    const options = (element.options as Json[] | undefined) ?? [];
    const pick = (value: string) => {
      const option = options.find((o) => o.value === value);
      if (!option) throw new Error(`the modal offers no option ${value} in ${blockId}`);
      return option;
    };
    const chosen = blockId in choices ? choices[blockId] : undefined;
    const type = String(element.type);
    let value: Json;
    if (type === 'checkboxes') {
      const selected =
        chosen === undefined
          ? ((element.initial_options as Json[] | undefined) ?? [])
          : ([] as string[]).concat(chosen ?? []).map(pick);
      value = { type, selected_options: selected };
    } else if (type === 'plain_text_input') {
      // Slack sends null for an empty text input.
      const text = chosen === undefined ? (element.initial_value ?? null) : chosen;
      value = { type, value: text === '' ? null : text };
    } else if (type === 'multi_users_select') {
      const users =
        chosen === undefined ? (element.initial_users ?? []) : ([] as string[]).concat(chosen ?? []);
      value = { type, selected_users: users };
    } else if (type === 'conversations_select') {
      value = {
        type,
        selected_conversation: chosen === undefined ? (element.initial_conversation ?? null) : chosen,
      };
    } else {
      const selected =
        chosen === undefined
          ? (element.initial_option ?? null)
          : chosen === null
            ? null
            : pick(String(chosen));
      value = { type, selected_option: selected };
    }
    values[blockId] = { [actionId]: value };
  }
  return values;
}
