import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEndGraceIds } from '../../src/slack/end-grace-value.ts';
import { ids } from '../../src/slack/ids.ts';
import { encodeKeyDialogMetadata, encodeReviewMetadata } from '../../src/slack/modal-state.ts';
import {
  blockActionsPayload,
  commandBody,
  eventCallbackBody,
  interactionBody,
  postSignedToBot,
  viewSubmissionPayload,
} from '../fake-slack/index.ts';
import { type ShownView, stateFor } from '../fake-slack/slack-user.ts';
import { SIGNING_SECRET, type SlackHarness, startSlackHarness } from '../slack/harness.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import {
  forbiddenChanges,
  readStore,
  realKeyStrings,
  type StoreState,
  secretsMadeBy,
  storeInvariants,
} from './change-audit.ts';
import { checkProperty, oddString } from './property-runs.ts';

type Json = Record<string, unknown>;

/*
 * Slack's request URL is public; only Slack can sign, but what Slack relays is whatever a person's
 * client (or a stale tab, or a double click) sends. So: signed requests, as Slack sends them, carrying
 * ids of other keys and other users, views of someone else or from before a change, fields missing,
 * extra or of the wrong kind, huge and odd strings, and replays — against the real Bolt app on the real
 * HTTP path, with the fake Slack recording every Web API call. After every request, and once rekey has
 * finished what it does after acknowledging:
 * - it answered, and never with a 5xx; a well-formed request was acknowledged (200);
 * - the key store changed only as the acting user may change it, every change audited as theirs;
 * - no real key string reached Slack, except the new key revealed to the person who just made it;
 * - every live key still has exactly one current key string.
 */

const ADMIN = 'UADMIN';
const ALICE = 'UALICE';
const BOB = 'UBOB';
const MALLORY = 'UMALLORY';
const PEOPLE = [ADMIN, ALICE, BOB, MALLORY];

let database: TestDatabase;
let h: SlackHarness;
/** Key strings of the world, old and current: fed back in as input, they must never come back out. */
const tokens: string[] = [];
let keyIds: string[] = [];
let keyNames: string[] = [];
let secretIds: string[] = [];
/** Views rekey opened or answered with, as Slack would hand them back (for stale or borrowed submits). */
const views: ShownView[] = [];
/** Bodies already sent, to send again as they were (a replay, a retry, a double click). */
const sent: Array<{ body: string; json: boolean; actor: string }> = [];

beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database, { admins: [ADMIN] });
  const made = [
    await createTestKey(h.services, { name: 'alice-only', maintainers: [ALICE], alertChannel: 'CALICE' }),
    await createTestKey(h.services, { name: 'bob-only', maintainers: [BOB], alertChannel: null }),
    await createTestKey(h.services, { name: 'shared', maintainers: [ALICE, BOB], alertChannel: 'CSHARED' }),
  ];
  // Each in its grace period: End grace has something to end.
  for (const key of made) {
    tokens.push(key.token);
    tokens.push((await rotateTestKey(h.services, { id: key.key.id }, '24h')).token);
  }
  const store = await readStore(database.db);
  keyIds = [...store.keys.keys()];
  keyNames = [...store.keys.values()].map((k) => k.name);
  secretIds = [...store.secrets.keys()];
});
afterAll(async () => {
  await h?.close();
  await database?.close();
});

// ---- what people send -------------------------------------------------------------------------------

type Mutation = { kind: 'drop' | 'extra' | 'retype'; path: string; value: unknown } | undefined;

type Step =
  | {
      kind: 'button';
      actor: string;
      actionId: string;
      value: string;
      where: 'home' | 'message';
      change: Mutation;
    }
  | {
      kind: 'submit';
      actor: string;
      view: number | undefined;
      callbackId: string;
      metadata: string;
      values: Json;
      change: Mutation;
    }
  | { kind: 'command'; actor: string; text: string }
  | { kind: 'home'; actor: string }
  | { kind: 'replay'; index: number }
  | { kind: 'journey'; actor: string; keyName: string; delay: string; acknowledge: boolean; reviewer: string }
  | { kind: 'press'; actor: string; index: number };

const HOME_ACTIONS = [
  ids.home.rotate,
  ids.home.endGrace,
  ids.home.history,
  ids.home.previousPage,
  ids.home.nextPage,
  ids.home.newKey,
  ids.home.edit,
  ids.home.delete,
  ids.leak.rotateNow,
];
const SUBMITTED_VIEWS: string[] = [
  ids.views.choose,
  ids.views.review,
  ids.views.newKey,
  ids.views.editKey,
  ids.views.deleteKey,
];

function mutate(payload: Json, change: Mutation): Json {
  if (!change) return payload;
  const copy = structuredClone(payload) as Json;
  const parts = change.path.split('.');
  let target: Record<string, unknown> | undefined = copy;
  for (const part of parts.slice(0, -1)) {
    const next: unknown = target?.[part];
    target = next && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
  }
  if (!target) return copy;
  const last = parts.at(-1)!;
  if (change.kind === 'drop') delete target[last];
  else if (change.kind === 'extra' ? !(last in target) : last in target) target[last] = change.value;
  return copy;
}

/** What people send, built once the world exists (it draws on the world's keys, secrets and names). */
function stepArbitrary(): fc.Arbitrary<Step> {
  const person = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...PEOPLE) },
    fc.stringMatching(/^U[A-Z0-9]{2,10}$/),
  );
  const odd = () => oddString(tokens);
  const keyId = () => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keyIds) }, fc.uuid(), odd());
  const secretId = () => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...secretIds) }, fc.uuid());
  const delay = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('now', '1h', '3h', '24h', '48h', '72h') },
    odd(),
  );

  const buttonValue = fc.oneof(
    keyId(),
    fc
      .record({
        keyId: keyId(),
        current: fc.option(secretId(), { nil: null }),
        old: fc.array(secretId(), { maxLength: 3 }),
      })
      .map((v) => encodeEndGraceIds({ keyId: v.keyId, currentSecretId: v.current, oldSecretIds: v.old })),
    fc.integer({ min: -3, max: 1e6 }).map(String),
    odd(),
  );

  const metadata = fc.oneof(
    fc
      .record({ keyId: keyId(), delay, acknowledged: fc.constantFrom(true, false, 'yes') })
      .map((m) =>
        m.acknowledged === true && typeof m.delay === 'string'
          ? encodeReviewMetadata(m as never)
          : JSON.stringify(m),
      ),
    fc
      .record({ keyId: keyId(), version: fc.option(odd(), { nil: undefined }) })
      .map((m) => encodeKeyDialogMetadata(m)),
    odd(),
  );

  /** One input's value, as Slack reports it for any element type, or something of the wrong shape. */
  const inputValue = fc.oneof(
    fc.record({
      type: fc.constant('static_select'),
      selected_option: fc.option(fc.record({ value: fc.oneof(keyId(), delay) }), { nil: null }),
    }),
    fc.record({ type: fc.constant('radio_buttons'), selected_option: fc.record({ value: delay }) }),
    fc.record({
      type: fc.constant('checkboxes'),
      selected_options: fc.array(fc.record({ value: fc.oneof(fc.constant(ids.ackValue), odd()) }), {
        maxLength: 2,
      }),
    }),
    fc.record({
      type: fc.constant('plain_text_input'),
      value: fc.option(
        fc.oneof(fc.constantFrom(...keyNames), fc.stringMatching(/^[a-z][a-z0-9-]{2,12}$/), odd()),
        {
          nil: null,
        },
      ),
    }),
    fc.record({
      type: fc.constant('multi_users_select'),
      selected_users: fc.array(person, { maxLength: 4 }),
    }),
    fc.record({
      type: fc.constant('conversations_select'),
      selected_conversation: fc.option(odd(), { nil: null }),
    }),
  );

  const BLOCK_INPUTS: Array<[string, string]> = [
    [ids.blocks.key, ids.actions.key],
    [ids.blocks.delay, ids.actions.delay],
    [ids.blocks.ack, ids.actions.ack],
    [ids.blocks.name, ids.actions.name],
    [ids.blocks.products, ids.actions.products],
    [ids.blocks.maintainers, ids.actions.maintainers],
    [ids.blocks.channel, ids.actions.channel],
    [ids.blocks.policy, ids.actions.policy],
    [ids.blocks.confirmName, ids.actions.confirmName],
  ];
  const stateValues = fc
    .array(fc.tuple(fc.constantFrom(...BLOCK_INPUTS), inputValue), { maxLength: 6 })
    .map((entries) =>
      Object.fromEntries(entries.map(([[block, action], value]) => [block, { [action]: value }])),
    );

  /** What to do to a payload before it is signed: nothing, drop a field, add one, or make one the wrong type. */
  const mutation = fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    fc.record({
      kind: fc.constantFrom('drop', 'extra', 'retype'),
      path: fc.constantFrom(
        'view.private_metadata',
        'view.state',
        'view.state.values',
        'view.id',
        'view.hash',
        'actions.0.value',
        'actions.0.block_id',
        'trigger_id',
        'container',
        'user.name',
        'team',
        'extra_field',
        'view.extra_field',
      ),
      value: fc.oneof(odd(), fc.integer(), fc.constant(null), fc.constant([]), fc.constant({})),
    }),
  );
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('button' as const),
        actor: person,
        actionId: fc.constantFrom(...HOME_ACTIONS),
        value: buttonValue,
        where: fc.constantFrom('home' as const, 'message' as const),
        change: mutation,
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('submit' as const),
        actor: person,
        // A view rekey really showed (someone's, maybe long ago), or one made up.
        view: fc.option(fc.nat(), { nil: undefined }),
        callbackId: fc.constantFrom(...SUBMITTED_VIEWS),
        metadata,
        values: stateValues,
        change: mutation,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('command' as const),
        actor: person,
        text: fc.oneof(fc.constantFrom(...keyNames, 'help', ''), odd()),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('home' as const), actor: person }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), index: fc.nat() }) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          kind: fc.constant('journey' as const),
          actor: fc.constantFrom(...PEOPLE),
          keyName: fc.constantFrom(...keyNames),
          delay: fc.constantFrom('now', '1h', '24h', '72h'),
          acknowledge: fc.boolean(),
          // Mostly the person who opened the dialog; sometimes someone else submits it.
          reviewer: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, fc.constantFrom(...PEOPLE)),
        })
        .map(({ reviewer, ...rest }) => ({ ...rest, reviewer: reviewer ?? rest.actor })),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('press' as const),
        actor: fc.constantFrom(...PEOPLE),
        index: fc.nat(),
      }),
    },
  );
}

// ---- sending it as Slack would ----------------------------------------------------------------------

const slackUser = (id: string) => ({
  id,
  username: id.toLowerCase(),
  name: id.toLowerCase(),
  team_id: 'TDEMO',
});

/** The request body for a step (form-encoded, or JSON for an event), and whose it is. */
function bodyFor(s: Extract<Step, { kind: 'button' | 'submit' | 'command' | 'home' }>): {
  body: string;
  json: boolean;
  actor: string;
  wellFormed: boolean;
} {
  const triggerId = h.fake.issueTrigger(s.actor);
  switch (s.kind) {
    case 'command':
      return {
        body: commandBody({
          command: ids.command,
          text: s.text,
          userId: s.actor,
          triggerId,
          responseUrl: h.fake.responseUrl(),
        }),
        json: false,
        actor: s.actor,
        wellFormed: true,
      };
    case 'home':
      return {
        body: eventCallbackBody({
          type: 'app_home_opened',
          user: s.actor,
          tab: 'home',
          channel: `D${s.actor}`,
        }),
        json: true,
        actor: s.actor,
        wellFormed: true,
      };
    case 'button': {
      const action = {
        type: 'button',
        action_id: s.actionId,
        block_id: `${ids.home.cardBlockPrefix}x`,
        text: { type: 'plain_text', text: 'x' },
        value: s.value,
      };
      const payload =
        s.where === 'home'
          ? blockActionsPayload({
              userId: s.actor,
              triggerId,
              action,
              view: { id: `VH${s.actor}`, hash: 'h', type: 'home', blocks: [] },
            })
          : blockActionsPayload({
              userId: s.actor,
              triggerId,
              action,
              message: { ts: '1700000000.000100', channelId: 'CSHARED', text: 'x' },
              responseUrl: h.fake.responseUrl(),
            });
      return {
        body: interactionBody(mutate(payload, s.change)),
        json: false,
        actor: s.actor,
        wellFormed: !s.change,
      };
    }
    case 'submit': {
      const shown = s.view === undefined || views.length === 0 ? undefined : views[s.view % views.length]!;
      const view: ShownView = shown ?? {
        id: `V${s.callbackId.toUpperCase().slice(0, 8)}`,
        hash: 'h',
        type: 'modal',
        callback_id: s.callbackId,
        private_metadata: s.metadata,
        blocks: [],
      };
      // A real view keeps its own metadata and inputs (their initial values, or made-up ones).
      const values = shown && s.view! % 2 === 0 ? safeState(shown) : s.values;
      const payload = viewSubmissionPayload(view, s.actor, values, triggerId);
      (payload as { user: unknown }).user = slackUser(s.actor);
      return {
        body: interactionBody(mutate(payload, s.change)),
        json: false,
        actor: s.actor,
        wellFormed: !s.change,
      };
    }
  }
}

function safeState(view: ShownView): Json {
  try {
    return stateFor(view, {});
  } catch {
    return {};
  }
}

/**
 * Collects the dialogs rekey showed in answer to a step that a person can submit (those with a submit
 * button), so later steps can submit them again: stale, or as someone else.
 */
function collectViews(callsFrom: number, answer: Json | undefined, submitted: Json | undefined) {
  const keep = (view: ShownView | undefined) => {
    if (view && SUBMITTED_VIEWS.includes(String(view.callback_id))) views.push(view);
  };
  for (const call of h.fake.calls.slice(callsFrom)) {
    if ((call.method === 'views.open' || call.method === 'views.update') && call.outcome === 'ok') {
      keep(call.result?.view as ShownView | undefined);
    }
  }
  if (answer?.response_action === 'update' && submitted) {
    keep({ ...(answer.view as Json), id: String(submitted.id), hash: 'h2' } as ShownView);
  }
  if (views.length > 60) views.splice(0, views.length - 60);
}

/** Where a real key string may go: the reveal (modal or ephemeral DM) to the person who made it, now. */
function revealsOnly(
  text: string,
  state: { before: StoreState; after: StoreState },
  actor: string,
  allowed: boolean,
): string[] {
  const made = secretsMadeBy(state.before, state.after, actor);
  return realKeyStrings(text, state.after)
    .filter(({ secretId }) => !(allowed && made.has(secretId)))
    .map(({ secretId }) => `key string of secret ${secretId}`);
}

function isReveal(call: { method: string; params: Json }, actor: string): boolean {
  const view = call.params.view as Json | undefined;
  if (call.method === 'views.update' || call.method === 'views.open')
    return view?.callback_id === ids.views.reveal || view?.callback_id === ids.views.created;
  return call.method === 'chat.postEphemeral' && call.params.user === actor;
}

type Request = { body: string; json: boolean; actor: string; wellFormed: boolean };

/** Sends one request, waits until rekey has done everything it does for it, and says what went wrong. */
async function exchange(request: Request): Promise<{ problems: string[]; answer?: Json; callsFrom: number }> {
  sent.push(request);
  if (sent.length > 40) sent.shift();
  const before = await readStore(database.db);
  const callsFrom = h.fake.calls.length;
  const logsFrom = h.logs.length;
  let answer: Awaited<ReturnType<typeof postSignedToBot>>;
  try {
    answer = request.json
      ? await postJson(request.body)
      : await postSignedToBot(h.url, request.body, SIGNING_SECRET);
  } catch (error) {
    return { problems: [`no answer: ${(error as Error).message}`], callsFrom };
  }
  await h.idle();
  const after = await readStore(database.db);
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`answered ${answer.status}`);
  if (request.wellFormed && answer.status !== 200) {
    // What rekey logged about it says which listener failed, and why.
    const errors = h.logs.slice(logsFrom).filter((line) => /"level":[56]0/.test(line));
    problems.push(`a well-formed request answered ${answer.status}: ${errors.join(' ').slice(0, 800)}`);
  }
  problems.push(...forbiddenChanges(before, after, request.actor, [ADMIN]));
  problems.push(...storeInvariants(after));
  const answerView = answer.json?.view as Json | undefined;
  const revealAnswer =
    answer.json?.response_action === 'update' &&
    (answerView?.callback_id === ids.views.reveal || answerView?.callback_id === ids.views.created);
  for (const p of revealsOnly(answer.text, { before, after }, request.actor, revealAnswer))
    problems.push(`${p} in the answer`);
  for (const call of h.fake.calls.slice(callsFrom)) {
    const found = revealsOnly(
      JSON.stringify(call.params),
      { before, after },
      request.actor,
      isReveal(call, request.actor),
    );
    problems.push(...found.map((p) => `${p} in ${call.method}`));
  }
  if (h.logs.slice(logsFrom).some((line) => line.includes('"msg":"request failed"')))
    problems.push('a request failed (500)');
  const submitted = request.json ? undefined : (parsePayload(request.body)?.view as Json | undefined);
  collectViews(callsFrom, answer.json, submitted);
  return { problems, answer: answer.json, callsFrom };
}

/** The modal rekey opened with this trigger, if it opened one. */
function openedWith(callsFrom: number): ShownView | undefined {
  const opened = h.fake.calls.slice(callsFrom).find((c) => c.method === 'views.open' && c.outcome === 'ok');
  return opened?.result?.view as ShownView | undefined;
}

function submitRequest(actor: string, view: ShownView, values: Json): Request {
  const payload = viewSubmissionPayload(view, actor, values, h.fake.issueTrigger(actor));
  return { body: interactionBody(payload), json: false, actor, wellFormed: true };
}

/**
 * The whole /rotate-key journey as a person clicks through it (command, Next, Rotate key) — the only
 * way a random walk reaches a real rotation often enough. Its dialogs are kept for later steps.
 */
async function journey(s: Extract<Step, { kind: 'journey' }>): Promise<string[]> {
  const command = bodyFor({ kind: 'command', actor: s.actor, text: s.keyName });
  const opened = await exchange(command);
  const choose = openedWith(opened.callsFrom);
  if (opened.problems.length > 0 || !choose) return opened.problems;
  let values: Json;
  try {
    values = stateFor(choose, {
      [ids.blocks.delay]: s.delay,
      [ids.blocks.ack]: s.acknowledge ? ids.ackValue : [],
    });
  } catch {
    values = safeState(choose);
  }
  const next = await exchange(submitRequest(s.actor, choose, values));
  const review = next.answer?.response_action === 'update' ? (next.answer.view as Json) : undefined;
  if (next.problems.length > 0 || !review) return next.problems;
  const rotate = await exchange(
    submitRequest(s.reviewer, { ...review, id: choose.id, hash: 'h2' } as ShownView, {}),
  );
  return rotate.problems;
}

/** A button rekey really showed (on anyone's Home), pressed as it is, by anyone. */
function shownButtons(): Array<{ action_id: string; value?: string }> {
  const buttons: Array<{ action_id: string; value?: string }> = [];
  for (const call of h.fake.callsTo('views.publish').slice(-8)) {
    for (const block of ((call.params.view as Json)?.blocks as Json[] | undefined) ?? []) {
      if (block.type !== 'actions') continue;
      for (const element of block.elements as Array<{ action_id: string; value?: string }>)
        buttons.push(element);
    }
  }
  return buttons;
}

async function play(s: Step): Promise<string[]> {
  switch (s.kind) {
    case 'replay':
      return sent.length === 0
        ? []
        : (await exchange({ ...sent[s.index % sent.length]!, wellFormed: false })).problems;
    case 'journey':
      return journey(s);
    case 'press': {
      const buttons = shownButtons();
      if (buttons.length === 0) return [];
      const button = buttons[s.index % buttons.length]!;
      const request = bodyFor({
        kind: 'button',
        actor: s.actor,
        actionId: button.action_id,
        value: button.value ?? '',
        where: 'home',
        change: undefined,
      });
      return (await exchange(request)).problems;
    }
    default:
      return (await exchange(bodyFor(s))).problems;
  }
}

function parsePayload(body: string): Json | undefined {
  try {
    return JSON.parse(new URLSearchParams(body).get('payload') ?? '') as Json;
  } catch {
    return undefined;
  }
}

async function postJson(body: string) {
  const { signedFormHeaders } = await import('../../src/fake-slack/signing.ts');
  const response = await fetch(`${h.url}/slack/events`, {
    method: 'POST',
    headers: { ...signedFormHeaders(SIGNING_SECRET, body), 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, json: undefined };
}

describe('signed Slack requests, as a stale tab, a double click or a curious colleague sends them', () => {
  it('never a 5xx or a crash, never a change the acting user may not make, never a key string where it does not belong', async () => {
    await checkProperty(
      fc.asyncProperty(fc.array(stepArbitrary(), { minLength: 1, maxLength: 6 }), async (steps) => {
        for (const s of steps) {
          const problems = await play(s);
          expect(problems, JSON.stringify(s).slice(0, 500)).toEqual([]);
        }
      }),
      12,
    );
    // The walk must reach real changes too (a rotation, an end of grace), or its checks of who may
    // change what would hold for want of trying.
    const changed = (await readStore(database.db)).audit.filter((a) => a.source === 'slack');
    expect(changed.map((a) => a.action)).toContain('rotate');
  }, 120_000);
});
