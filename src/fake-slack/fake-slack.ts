import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkMessage, checkView } from './block-kit-limits.ts';

type Json = Record<string, unknown>;

/** One request the fake received: a Web API method, or `response_url` for a POST to a response URL. */
export interface SlackCall {
  method: string;
  params: Json;
  /** Date.now() when it arrived. */
  at: number;
  /** What the fake answered: `ok`, an error code, or `http_429`/`http_500`. */
  outcome: string;
  /** The JSON answer of a Web API call. */
  result?: Json;
  /** The request path (tells response URLs apart). */
  path: string;
}

/** What a method should do instead of succeeding, the next `times` calls. */
export type FakeFailure = { status: 429; retryAfter: number } | { status: 500 } | { error: string };

interface StoredView {
  id: string;
  hash: string;
  userId?: string;
  view: Json;
}

export interface FakeSlackOptions {
  port?: number;
  host?: string;
  /** Only this bot token is accepted (any `xoxb-` token when absent). */
  botToken?: string;
  bot?: { userId: string; botId: string; teamId: string };
  /** How long a trigger id stays valid (Slack: 3 s). */
  triggerTtlMs?: number;
  /** Keep only the latest calls (a long-running local mode must not grow without bound). */
  maxRecordedCalls?: number;
}

const TRIGGER_TTL_MS = 3000;

/**
 * An HTTP fake of Slack's Web API that records every call and refuses what Slack refuses (Block Kit
 * limits, stale or reused triggers, hash conflicts). Tests use it, and local mode plays Slack with it.
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly bot: { userId: string; botId: string; teamId: string };
  private readonly failures = new Map<string, Array<FakeFailure>>();
  private readonly delays = new Map<string, number>();
  private readonly triggers = new Map<string, { userId: string; issuedAt: number; used: boolean }>();
  private readonly views = new Map<string, StoredView>();
  private readonly events = new EventEmitter();
  private readonly server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  private counter = 0;
  url = '';

  constructor(private readonly options: FakeSlackOptions = {}) {
    this.bot = options.bot ?? { userId: 'UREKEYBOT', botId: 'BREKEY', teamId: 'TDEMO' };
    this.events.setMaxListeners(0);
  }

  /** Base URL for `SLACK_API_URL` / `slackApiUrl`. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) =>
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Make the next `times` calls of `method` fail as described. */
  fail(method: string, failure: FakeFailure, times = 1): void {
    const queue = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.failures.set(method, queue);
  }

  /**
   * Answer `method` only `ms` after handling it (the call takes effect at once, like a Slack that is
   * slow to reply); 0 makes it prompt again.
   */
  answerSlowly(method: string, ms: number): void {
    if (ms > 0) this.delays.set(method, ms);
    else this.delays.delete(method);
  }

  /** A trigger id as Slack puts in a command or interaction: valid for 3 s, once. */
  issueTrigger(userId: string): string {
    const id = `${++this.counter}.${Date.now()}.${randomBytes(8).toString('hex')}`;
    this.triggers.set(id, { userId, issuedAt: Date.now(), used: false });
    return id;
  }

  /** A response_url served by this fake; what rekey posts there is recorded as `response_url`. */
  responseUrl(): string {
    return `${this.url}/response/${randomBytes(8).toString('hex')}`;
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The view Slack currently shows under this id (after opens and updates through the API). */
  view(id: string): (Json & { id: string; hash: string }) | undefined {
    const stored = this.views.get(id);
    return stored ? { ...stored.view, id: stored.id, hash: stored.hash } : undefined;
  }

  /** Calls `listener` for every call from now on (local mode mirrors them onto its page). */
  onCall(listener: (call: SlackCall) => void): () => void {
    this.events.on('call', listener);
    return () => this.events.off('call', listener);
  }

  /**
   * What Slack does with a `response_action` of `update` (same id, new hash) or `push` (a new view
   * for the same user): the view is checked against Block Kit's limits first, like any other.
   */
  showView(view: unknown, target: { replaceId: string } | { pushFor: string }): Json {
    const invalid = invalidView(view);
    if (invalid) return invalid;
    if ('replaceId' in target) {
      const stored = this.views.get(target.replaceId);
      if (!stored) return { ok: false, error: 'not_found' };
      return this.store(stored, view as Json);
    }
    return this.store(
      { id: `V${String(++this.counter).padStart(8, '0')}`, userId: target.pushFor },
      view as Json,
    );
  }

  /** Resolves with the first call (already recorded or still to come) that matches. */
  waitFor(match: (call: SlackCall) => boolean, timeoutMs = 5000): Promise<SlackCall> {
    const found = this.calls.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('call', listener);
        reject(new Error(`fake Slack: no matching call within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (call: SlackCall) => {
        if (!match(call)) return;
        clearTimeout(timer);
        this.events.off('call', listener);
        resolve(call);
      };
      this.events.on('call', listener);
    });
  }

  private record(method: string, params: Json, path: string, result: Json | string): void {
    const outcome = typeof result === 'string' ? result : result.ok ? 'ok' : String(result.error);
    const call: SlackCall = { method, params, at: Date.now(), outcome, path };
    if (typeof result !== 'string') call.result = result;
    this.calls.push(call);
    const max = this.options.maxRecordedCalls;
    if (max !== undefined && this.calls.length > max) this.calls.splice(0, this.calls.length - max);
    this.events.emit('call', call);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const raw = await readBody(req);
    if (path.startsWith('/response/')) {
      const params = parseJson(raw);
      const problems = checkMessage(params);
      this.record('response_url', params, path, problems.length ? 'invalid_blocks' : 'ok');
      return problems.length ? send(res, 400, 'invalid_blocks') : send(res, 200, 'ok');
    }
    if (!path.startsWith('/api/')) return send(res, 404, 'not found');
    const method = path.slice('/api/'.length);
    const params = (req.headers['content-type'] ?? '').includes('json') ? parseJson(raw) : parseForm(raw);
    const failure = this.failures.get(method)?.shift();
    if (failure && 'status' in failure) {
      this.record(method, params, path, `http_${failure.status}`);
      const headers = failure.status === 429 ? { 'retry-after': String(failure.retryAfter) } : undefined;
      return send(res, failure.status, failure.status === 429 ? 'ratelimited' : 'server error', headers);
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || String(params.token ?? '');
    const answer = failure
      ? { ok: false, error: failure.error }
      : !token
        ? { ok: false, error: 'not_authed' }
        : this.options.botToken
          ? token === this.options.botToken
            ? this.answer(method, params)
            : { ok: false, error: 'invalid_auth' }
          : this.answer(method, params);
    this.record(method, params, path, answer);
    const delay = this.delays.get(method);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    return sendJson(res, answer);
  }

  private answer(method: string, p: Json): Json {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://demo.slack.com/',
          team: 'Demo',
          user: 'rekey',
          team_id: this.bot.teamId,
          user_id: this.bot.userId,
          bot_id: this.bot.botId,
        };
      case 'views.open':
      case 'views.push':
        return this.openView(p);
      case 'views.update':
        return this.updateView(p);
      case 'views.publish':
        return this.publishView(p);
      case 'chat.postMessage':
      case 'chat.postEphemeral':
        return this.postMessage(method, p);
      case 'chat.getPermalink': {
        const channel = String(p.channel ?? '');
        const ts = String(p.message_ts ?? '');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (!/^\d+\.\d+$/.test(ts)) return { ok: false, error: 'message_not_found' };
        return {
          ok: true,
          channel,
          permalink: `https://demo.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
        };
      }
      case 'conversations.open': {
        const user = String(p.users ?? '').split(',')[0];
        return user
          ? { ok: true, channel: { id: `D${user}` } }
          : { ok: false, error: 'users_list_not_supplied' };
      }
      case 'users.info': {
        const user = String(p.user ?? '');
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: { id: user, name: user.toLowerCase(), real_name: user, tz: 'UTC', tz_offset: 0 },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private openView(p: Json): Json {
    const trigger = this.triggers.get(String(p.trigger_id ?? ''));
    if (!trigger) return { ok: false, error: 'invalid_trigger_id' };
    if (trigger.used || Date.now() - trigger.issuedAt > (this.options.triggerTtlMs ?? TRIGGER_TTL_MS)) {
      return { ok: false, error: 'expired_trigger_id' };
    }
    const invalid = invalidView(p.view);
    if (invalid) return invalid;
    trigger.used = true;
    return this.store(
      { id: `V${String(++this.counter).padStart(8, '0')}`, userId: trigger.userId },
      p.view as Json,
    );
  }

  private updateView(p: Json): Json {
    const stored = [...this.views.values()].find(
      (v) => v.id === p.view_id || (p.external_id !== undefined && v.view.external_id === p.external_id),
    );
    if (!stored) return { ok: false, error: 'not_found' };
    if (p.hash !== undefined && p.hash !== stored.hash) return { ok: false, error: 'hash_conflict' };
    const invalid = invalidView(p.view);
    if (invalid) return invalid;
    return this.store(stored, p.view as Json);
  }

  private publishView(p: Json): Json {
    const userId = String(p.user_id ?? '');
    if (!userId) return { ok: false, error: 'invalid_arguments' };
    const invalid = invalidView(p.view);
    if (invalid) return invalid;
    const existing = [...this.views.values()].find((v) => v.userId === userId && v.view.type === 'home');
    if (existing && p.hash !== undefined && p.hash !== existing.hash)
      return { ok: false, error: 'hash_conflict' };
    return this.store(existing ?? { id: `VH${userId}`, userId }, p.view as Json);
  }

  private store(target: { id: string; userId?: string }, view: Json): Json {
    const stored: StoredView = {
      id: target.id,
      userId: target.userId,
      hash: randomBytes(6).toString('hex'),
      view,
    };
    this.views.set(stored.id, stored);
    return {
      ok: true,
      view: { ...view, id: stored.id, hash: stored.hash, team_id: this.bot.teamId, state: { values: {} } },
    };
  }

  private postMessage(method: string, p: Json): Json {
    if (!p.channel) return { ok: false, error: 'channel_not_found' };
    if (method === 'chat.postEphemeral' && !p.user) return { ok: false, error: 'user_not_found' };
    const problems = checkMessage(p);
    if (problems.length)
      return { ok: false, error: 'invalid_blocks', response_metadata: { messages: problems } };
    const ts = `${Math.floor(Date.now() / 1000)}.${String(++this.counter).padStart(6, '0')}`;
    return method === 'chat.postEphemeral'
      ? { ok: true, message_ts: ts }
      : { ok: true, channel: p.channel, ts, message: { text: p.text, blocks: p.blocks, ts } };
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  return new FakeSlack(options).start();
}

function invalidView(view: unknown): Json | undefined {
  const problems = checkView(view);
  return problems.length
    ? { ok: false, error: 'invalid_arguments', response_metadata: { messages: problems } }
    : undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): Json {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Json) : {};
  } catch {
    return {};
  }
}

/** The Web API client form-encodes arguments and JSON-encodes nested objects (view, blocks). */
function parseForm(raw: string): Json {
  const out: Json = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    out[name] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, body: Json): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
