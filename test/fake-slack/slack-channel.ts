import type { FakeSlack, SlackCall } from '../../src/fake-slack/fake-slack.ts';
import {
  channelMessageEvent,
  deliverSignedEvent,
  eventCallbackBody,
  messageChangedEvent,
} from '../../src/fake-slack/slack-payloads.ts';

type Json = Record<string, unknown>;

/** One delivery of a message event: its body (to deliver again, as Slack retries) and rekey's answer. */
export interface Delivery {
  /** The message's ts (for an edit, the edited message's). */
  ts: string;
  raw: string;
  status: number;
  /** How long rekey took to acknowledge (Slack waits 3 s). */
  ms: number;
}

let lastTs = 0;
/** Message timestamps as Slack writes them (`<seconds>.<micro>`), unique within the test run. */
export function nextMessageTs(): string {
  lastTs = Math.max(lastTs + 1, Date.now() * 1000);
  return `${Math.floor(lastTs / 1e6)}.${String(lastTs % 1e6).padStart(6, '0')}`;
}

/**
 * A channel rekey is a member of: people post and edit messages in it, each delivered to rekey as a
 * signed Events API request (`message`, `message_changed`), and rekey's replies are read back from the
 * fake Slack's calls.
 */
export class SlackChannel {
  constructor(
    private readonly ctx: { fake: FakeSlack; rekeyUrl: string; signingSecret: string },
    readonly id: string,
    readonly type: 'channel' | 'group' = 'channel',
  ) {}

  /** `user` posts `text` (with blocks, attachments, in a thread, or as a bot). */
  post(
    user: string,
    text: string,
    extra: { blocks?: unknown[]; attachments?: unknown[]; threadTs?: string; botId?: string } = {},
  ): Promise<Delivery> {
    const ts = nextMessageTs();
    const event = channelMessageEvent({ channel: this.id, channelType: this.type, user, text, ts, ...extra });
    return this.deliver(ts, eventCallbackBody(event));
  }

  /** `user` edits their message `ts`, from `previousText` to `text`. */
  edit(
    user: string,
    ts: string,
    change: {
      text: string;
      previousText: string;
      blocks?: unknown[];
      attachments?: unknown[];
      botId?: string;
    },
  ): Promise<Delivery> {
    const event = messageChangedEvent({ channel: this.id, channelType: this.type, user, ts, ...change });
    return this.deliver(ts, eventCallbackBody(event));
  }

  /** Slack delivering the same body again, with `X-Slack-Retry-Num`. */
  async redeliver(delivery: Delivery, num = 1, rekeyUrl = this.ctx.rekeyUrl): Promise<Delivery> {
    const started = performance.now();
    const status = await deliverSignedEvent(rekeyUrl, delivery.raw, this.ctx.signingSecret, { num });
    return { ...delivery, status, ms: performance.now() - started };
  }

  /** What rekey posted in the thread of message `ts`. */
  threadReplies(ts: string): SlackCall[] {
    return this.ctx.fake
      .callsTo('chat.postMessage')
      .filter((c) => c.params.channel === this.id && c.params.thread_ts === ts && c.outcome === 'ok');
  }

  /** Messages rekey posted in this channel outside any thread (notices). */
  notices(): SlackCall[] {
    return this.ctx.fake
      .callsTo('chat.postMessage')
      .filter((c) => c.params.channel === this.id && c.params.thread_ts === undefined && c.outcome === 'ok');
  }

  private async deliver(ts: string, raw: string): Promise<Delivery> {
    const started = performance.now();
    const status = await deliverSignedEvent(this.ctx.rekeyUrl, raw, this.ctx.signingSecret);
    return { ts, raw, status, ms: performance.now() - started };
  }
}

/** Every text a person reads in a posted message (its fallback text and blocks). */
export function messageText(call: SlackCall): string {
  return JSON.stringify({ text: call.params.text, blocks: call.params.blocks as Json[] | undefined });
}
