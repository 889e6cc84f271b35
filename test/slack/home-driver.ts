import { signedFormHeaders } from '../../src/fake-slack/signing.ts';
import { ids } from '../../src/slack/ids.ts';
import { postToSlackEndpoint, type SlackResponse } from '../fake-slack/index.ts';
import type { ShownView, SlackUser } from '../fake-slack/slack-user.ts';
import { SIGNING_SECRET, type SlackHarness } from './harness.ts';

type Json = Record<string, unknown>;
export type HomeShown = Json & { type: 'home'; blocks: Json[] };
export interface ShownButton {
  action_id: string;
  value?: string;
  text: { text: string };
  style?: string;
  confirm?: Json;
}

/**
 * A person looking at rekey's Home tab: opens it (a signed `app_home_opened` event), reads what the
 * fake Slack last received through `views.publish` for them, and presses its buttons (signed
 * `block_actions`, with a fresh trigger like Slack's). Modals opened from a press are read through the
 * ordinary SlackUser, so "Rotate…" continues exactly like the command's journey.
 */
export class HomeUser {
  readonly slack: SlackUser;

  constructor(
    private readonly h: SlackHarness,
    readonly id: string,
  ) {
    this.slack = h.user(id);
  }

  /** Every Home successfully published for this user so far, oldest first. */
  publishes(): HomeShown[] {
    return this.h.fake
      .callsTo('views.publish')
      .filter((c) => c.params.user_id === this.id && c.outcome === 'ok')
      .map((c) => c.params.view as HomeShown);
  }

  /** The Home this user sees now (the last one published to them). */
  home(): HomeShown {
    const last = this.publishes().at(-1);
    if (!last) throw new Error(`nothing was published to ${this.id}'s Home`);
    return last;
  }

  /** Resolves with the next Home published to this user after `action` runs. */
  async nextPublish(action: () => Promise<unknown>, timeoutMs = 5000): Promise<HomeShown> {
    // Refreshes from earlier changes (a key created or rotated in the test's setup) land first.
    await this.h.slack.home.settled();
    const from = this.h.fake.calls.length;
    await action();
    const call = await this.h.fake.waitFor(
      (c) =>
        c.method === 'views.publish' && c.params.user_id === this.id && this.h.fake.calls.indexOf(c) >= from,
      timeoutMs,
    );
    if (call.outcome !== 'ok') throw new Error(`views.publish failed: ${call.outcome}`);
    return call.params.view as HomeShown;
  }

  /** Opens the Home tab and waits for rekey to publish it. */
  openHome(): Promise<HomeShown> {
    return this.nextPublish(() => this.sendEvent({ type: 'app_home_opened', user: this.id, tab: 'home' }));
  }

  async sendEvent(event: Json): Promise<number> {
    const raw = JSON.stringify({
      token: 'legacy-verification-token',
      team_id: 'TDEMO',
      api_app_id: 'AREKEY',
      event: { ...event, channel: `D${this.id}`, event_ts: `${Date.now() / 1000}` },
      type: 'event_callback',
      event_id: `Ev${Date.now()}${Math.floor(Math.random() * 1e6)}`,
      event_time: Math.floor(Date.now() / 1000),
    });
    const headers = { ...signedFormHeaders(SIGNING_SECRET, raw), 'content-type': 'application/json' };
    const response = await fetch(`${this.h.url}/slack/events`, { method: 'POST', headers, body: raw });
    await response.text();
    return response.status;
  }

  /** Buttons on the current Home, optionally only those with this action id. */
  buttons(actionId?: string, home: HomeShown = this.home()): ShownButton[] {
    return home.blocks
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements as ShownButton[])
      .filter((e) => actionId === undefined || e.action_id === actionId);
  }

  /** The button `actionId` on the card of `keyId` (from the Home they see, possibly stale). */
  cardButton(keyId: string, actionId: string, home: HomeShown = this.home()): ShownButton | undefined {
    const block = home.blocks.find((b) => b.block_id === `${ids.home.cardBlockPrefix}${keyId}`);
    return (block?.elements as ShownButton[] | undefined)?.find((e) => e.action_id === actionId);
  }

  /**
   * Presses a button as Slack sends it: a signed block_actions payload from the Home view, with a
   * trigger the fake will accept once within 3 s. For a button with a confirm object, this is the press
   * after the user confirmed (Slack sends nothing if they cancel).
   */
  async press(button: ShownButton, home: HomeShown = this.home()): Promise<SlackResponse> {
    const triggerId = this.h.fake.issueTrigger(this.id);
    this.slack.lastCommand = { triggerId, responseUrl: '', sentAt: Date.now() };
    const view = { ...home, id: `VH${this.id}`, hash: 'h', state: { values: {} }, team_id: 'TDEMO' };
    const payload = {
      type: 'block_actions',
      team: { id: 'TDEMO', domain: 'demo' },
      user: { id: this.id, username: this.id.toLowerCase(), name: this.id.toLowerCase(), team_id: 'TDEMO' },
      api_app_id: 'AREKEY',
      token: 'legacy-verification-token',
      trigger_id: triggerId,
      container: { type: 'view', view_id: view.id },
      view,
      actions: [
        {
          type: 'button',
          action_id: button.action_id,
          block_id: blockIdOf(home, button),
          text: { type: 'plain_text', text: button.text.text, emoji: true },
          value: button.value,
          ...(button.style ? { style: button.style } : {}),
          action_ts: `${Date.now() / 1000}`,
        },
      ],
      is_enterprise_install: false,
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    return postToSlackEndpoint(this.h.url, body, { signingSecret: SIGNING_SECRET });
  }

  /** Waits for the modal rekey opens in answer to the last press. */
  waitForModal(): Promise<ShownView> {
    return this.slack.waitForModal();
  }
}

function blockIdOf(home: HomeShown, button: ShownButton): string {
  const block = home.blocks.find(
    (b) =>
      b.type === 'actions' &&
      (b.elements as ShownButton[]).some((e) => e.action_id === button.action_id && e.value === button.value),
  );
  return String(block?.block_id ?? '');
}

/** The text a person reads in a view: every text field, joined. */
export function viewText(view: Json): string {
  return JSON.stringify(view);
}

/** One key's card on a Home (its blocks from the divider before it to its buttons), as text. */
export function cardText(home: HomeShown, keyId: string): string {
  const buttons = home.blocks.findIndex((b) => b.block_id === `${ids.home.cardBlockPrefix}${keyId}`);
  if (buttons < 0) throw new Error(`the Home shows no card for key ${keyId}`);
  let start = buttons;
  while (start > 0 && home.blocks[start - 1]!.type !== 'divider') start--;
  return JSON.stringify(home.blocks.slice(start, buttons + 1));
}
