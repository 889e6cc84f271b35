import type { FakeSlack, SlackCall } from '../fake-slack/fake-slack.ts';
import {
  blockActionsPayload,
  channelMessageEvent,
  commandBody,
  interactionBody,
  postSignedEvent,
  postSignedToBot,
  viewClosedPayload,
  viewSubmissionPayload,
} from '../fake-slack/slack-payloads.ts';
import type { Logger } from '../logger.ts';
import { DEMO_CHANNELS, DEMO_USERS, dmChannelOf } from './demo-workspace.ts';

type Json = Record<string, unknown>;
type ShownView = Json & { id: string; hash: string };

export interface LocalMessage {
  ts: string;
  channel: string;
  /** A person's message; absent for the bot's. */
  user?: string;
  text: string;
  blocks?: unknown[];
  /** Shown only to `to`, as Slack shows ephemeral messages. */
  ephemeral?: boolean;
  to?: string;
}

const MAX_MESSAGES = 500;

/**
 * The Slack client side of local mode. It turns the page's clicks into the requests Slack would send
 * (signed, to the bot's own /slack/events) and mirrors what the bot sends to the Web API fake
 * (messages, ephemerals, modals, Home tabs) into per-user state the page polls.
 */
export class LocalWorkspace {
  private readonly messages: LocalMessage[] = [];
  private readonly modals = new Map<string, string[]>();
  private readonly errors = new Map<string, Record<string, string>>();
  private readonly triggers = new Map<string, string>();
  private readonly responseUrls = new Map<string, { user: string; channel: string }>();
  private counter = 0;

  constructor(
    private readonly deps: { fake: FakeSlack; signingSecret: string; botUrl: () => string; logger: Logger },
  ) {
    deps.fake.onCall((call) => this.mirror(call));
  }

  /** Everything one user sees right now. */
  stateFor(user: string) {
    const dm = dmChannelOf(user);
    const stack = this.modals.get(user) ?? [];
    const top = stack.at(-1);
    const view = top ? this.deps.fake.view(top) : undefined;
    return {
      users: DEMO_USERS,
      channels: DEMO_CHANNELS,
      me: user,
      dm,
      messages: this.messages.filter(
        (m) => (m.channel.startsWith('C') || m.channel === dm) && (!m.ephemeral || m.to === user),
      ),
      modal: view ? { id: view.id, hash: view.hash, view, errors: this.errors.get(view.id) ?? null } : null,
      home: this.deps.fake.view(`VH${user}`) ?? null,
    };
  }

  /** A line typed in the composer: a slash command goes to the bot; anything else is a message. */
  async message(user: string, channel: string, text: string): Promise<void> {
    const match = /^(\/[\w-]+)\s*(.*)$/s.exec(text.trim());
    if (!match) {
      const ts = this.ts();
      this.push({ ts, channel, user, text });
      // The bot is in every demo channel: Slack sends it the message (the leak watch reads it).
      if (channel.startsWith('C')) {
        const event = channelMessageEvent({ channel, user, text, ts });
        const status = await postSignedEvent(this.deps.botUrl(), event, this.deps.signingSecret);
        if (status !== 200)
          this.deps.logger.warn({ status }, 'local mode: a message event was not acknowledged');
      }
      return;
    }
    const [, command, rest] = match;
    if (command !== '/rotate-key') {
      this.push({
        ts: this.ts(),
        channel,
        text: `\`${command}\` is not a valid command. In this demo, try \`/rotate-key\`.`,
        ephemeral: true,
        to: user,
      });
      return;
    }
    const triggerId = this.trigger(user);
    const responseUrl = this.deps.fake.responseUrl();
    this.responseUrls.set(new URL(responseUrl).pathname, { user, channel });
    const channelName = DEMO_CHANNELS.find((c) => c.id === channel)?.name ?? 'directmessage';
    const body = commandBody({
      command: command!,
      text: rest ?? '',
      userId: user,
      triggerId,
      responseUrl,
      channelId: channel,
      channelName,
    });
    const answer = await postSignedToBot(this.deps.botUrl(), body, this.deps.signingSecret);
    if (answer.status !== 200) {
      this.push({
        ts: this.ts(),
        channel,
        text: `${command} failed with the error "dispatch_failed"`,
        ephemeral: true,
        to: user,
      });
    } else if (answer.text) {
      // A command may also answer in its acknowledgement (text or blocks), shown only to the user.
      const reply = answer.json ?? { text: answer.text };
      this.push({
        ts: this.ts(),
        channel,
        text: String(reply.text ?? ''),
        blocks: reply.blocks as unknown[],
        ephemeral: true,
        to: user,
      });
    }
  }

  /** Submits the user's top modal with the values the page collected; applies `response_action`. */
  async submitView(user: string, viewId: string, values: Json): Promise<{ error?: string }> {
    const view = this.topView(user, viewId);
    if (!view) return { error: 'That dialog is no longer open.' };
    const payload = viewSubmissionPayload(view, user, values, this.trigger(user));
    const answer = await postSignedToBot(
      this.deps.botUrl(),
      interactionBody(payload),
      this.deps.signingSecret,
    );
    if (answer.status !== 200) return { error: 'We had some trouble connecting. Try again?' };
    this.errors.delete(view.id);
    const action = answer.json?.response_action;
    const stack = this.modals.get(user) ?? [];
    if (action === 'errors') {
      this.errors.set(view.id, (answer.json?.errors as Record<string, string>) ?? {});
    } else if (action === 'update' || action === 'push') {
      const shown = this.deps.fake.showView(
        answer.json?.view,
        action === 'update' ? { replaceId: view.id } : { pushFor: user },
      );
      if (!shown.ok) return { error: `Slack refused the view rekey sent (${String(shown.error)}).` };
      if (action === 'push') stack.push(String((shown.view as Json).id));
    } else if (action === 'clear') {
      stack.length = 0;
    } else {
      stack.pop();
    }
    return {};
  }

  async closeView(user: string, viewId: string): Promise<void> {
    const view = this.topView(user, viewId);
    if (!view) return;
    this.modals.get(user)?.pop();
    if (view.notify_on_close) {
      await postSignedToBot(
        this.deps.botUrl(),
        interactionBody(viewClosedPayload(view, user)),
        this.deps.signingSecret,
      );
    }
  }

  /** A button or menu in a modal, the Home tab or a message. */
  async blockAction(
    user: string,
    container: { type: string; view_id?: string; message_ts?: string; channel_id?: string },
    action: Json,
    values: Json = {},
  ): Promise<{ error?: string }> {
    const triggerId = this.trigger(user);
    let payload: Json;
    if (container.type === 'view') {
      const view = container.view_id ? this.deps.fake.view(container.view_id) : undefined;
      if (!view) return { error: 'That view is no longer open.' };
      payload = blockActionsPayload({ userId: user, triggerId, action, view, values });
    } else {
      const message = this.messages.find((m) => m.ts === container.message_ts);
      if (!message) return { error: 'That message is gone.' };
      const responseUrl = this.deps.fake.responseUrl();
      this.responseUrls.set(new URL(responseUrl).pathname, { user, channel: message.channel });
      payload = blockActionsPayload({
        userId: user,
        triggerId,
        action,
        message: { ts: message.ts, channelId: message.channel, text: message.text, blocks: message.blocks },
        responseUrl,
      });
    }
    const answer = await postSignedToBot(
      this.deps.botUrl(),
      interactionBody(payload),
      this.deps.signingSecret,
    );
    return answer.status === 200 ? {} : { error: 'rekey did not answer that click. Try again?' };
  }

  async homeOpened(user: string): Promise<void> {
    const view = this.deps.fake.view(`VH${user}`);
    const status = await postSignedEvent(
      this.deps.botUrl(),
      { type: 'app_home_opened', user, channel: dmChannelOf(user), tab: 'home', ...(view ? { view } : {}) },
      this.deps.signingSecret,
    );
    if (status !== 200) this.deps.logger.warn({ status }, 'local mode: app_home_opened was not acknowledged');
  }

  private topView(user: string, viewId: string): ShownView | undefined {
    const stack = this.modals.get(user) ?? [];
    return stack.at(-1) === viewId ? (this.deps.fake.view(viewId) as ShownView | undefined) : undefined;
  }

  private trigger(user: string): string {
    const id = this.deps.fake.issueTrigger(user);
    this.triggers.set(id, user);
    if (this.triggers.size > 1000) this.triggers.delete(this.triggers.keys().next().value!);
    return id;
  }

  private ts(): string {
    return `${Math.floor(Date.now() / 1000)}.${String(++this.counter).padStart(6, '0')}`;
  }

  private push(message: LocalMessage): void {
    this.messages.push(message);
    if (this.messages.length > MAX_MESSAGES) this.messages.splice(0, this.messages.length - MAX_MESSAGES);
  }

  /** What the bot sent to the Web API becomes what people see. */
  private mirror(call: SlackCall): void {
    const p = call.params;
    if (call.method === 'response_url') {
      const target = this.responseUrls.get(call.path);
      if (!target || call.outcome !== 'ok') return;
      const inChannel = p.response_type === 'in_channel';
      this.push({
        ts: this.ts(),
        channel: target.channel,
        text: String(p.text ?? ''),
        blocks: p.blocks as unknown[] | undefined,
        ephemeral: !inChannel,
        to: inChannel ? undefined : target.user,
      });
      return;
    }
    if (call.outcome !== 'ok') return;
    const result = call.result ?? {};
    switch (call.method) {
      case 'views.open':
      case 'views.push': {
        const user = this.triggers.get(String(p.trigger_id));
        if (!user) return;
        const stack = call.method === 'views.open' ? [] : (this.modals.get(user) ?? []);
        stack.push(String((result.view as Json).id));
        this.modals.set(user, stack);
        return;
      }
      case 'chat.postMessage': {
        const channel = String(p.channel);
        this.push({
          ts: String(result.ts),
          channel: /^[UW]/.test(channel) ? dmChannelOf(channel) : channel,
          text: String(p.text ?? ''),
          blocks: p.blocks as unknown[] | undefined,
        });
        return;
      }
      case 'chat.postEphemeral':
        this.push({
          ts: String(result.message_ts),
          channel: String(p.channel),
          text: String(p.text ?? ''),
          blocks: p.blocks as unknown[] | undefined,
          ephemeral: true,
          to: String(p.user),
        });
        return;
      default:
        return;
    }
  }
}
