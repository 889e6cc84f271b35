import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';

let database: TestDatabase;
let rekey: Rekey;
beforeAll(async () => {
  database = await openTestDatabase();
  rekey = await startRekey(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }), {
    logger: pino({ level: 'silent' }),
    database,
  });
});
afterAll(async () => {
  await rekey?.close();
  await database?.close();
});

/** A raw request, so the test controls Host and Origin the way another site or a rebound DNS name would. */
function send(path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      `${rekey.url}${path}`,
      { method: body === undefined ? 'GET' : 'POST', headers },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const message = JSON.stringify({ user: 'U0ADA', channel: 'C0GENERAL', text: 'hello from the page' });

describe('the local page API', () => {
  it('listens on loopback only', () => {
    expect(rekey.server.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it('answers the page itself', async () => {
    const host = new URL(rekey.url).host;
    const ok = await send(
      '/local/api/message',
      { host, origin: `http://${host}`, 'content-type': 'application/json' },
      message,
    );
    expect(ok.status).toBe(200);
    const state = await send('/local/api/state?user=U0ADA', { host });
    expect(JSON.parse(state.text).messages).toEqual([
      expect.objectContaining({ text: 'hello from the page', user: 'U0ADA' }),
    ]);
  });

  it('refuses another site, a rebound DNS name and a non-JSON post, and changes nothing', async () => {
    const host = new URL(rekey.url).host;
    const fromOtherSite = await send(
      '/local/api/message',
      { host, origin: 'https://evil.example', 'content-type': 'application/json' },
      message,
    );
    expect(fromOtherSite.status).toBe(403);
    const rebound = await send('/local/api/state?user=U0ADA', {
      host: `evil.example:${new URL(rekey.url).port}`,
    });
    expect(rebound.status).toBe(403);
    const formPost = await send('/local/api/message', { host, 'content-type': 'text/plain' }, message);
    expect(formPost.status).toBe(415);
    const state = JSON.parse((await send('/local/api/state?user=U0ADA', { host })).text);
    expect(state.messages.filter((m: { text: string }) => m.text === 'hello from the page')).toHaveLength(1);
  });
});

describe('without Slack credentials but with DATABASE_URL', () => {
  it('serves the verify API only: no simulated Slack, no demo admin, on a shared database', async () => {
    const shared = await startRekey(
      loadConfig({ PORT: '0', LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://db.internal/rekey' }),
      { logger: pino({ level: 'silent' }), database },
    );
    try {
      expect(shared.localMode).toBe(false);
      expect((await fetch(`${shared.url}/`)).status).toBe(404);
      expect((await fetch(`${shared.url}/local/api/state?user=U0LINUS`)).status).toBe(404);
      expect(shared.services.deps.admins).not.toContain('U0LINUS');
      expect((await fetch(`${shared.url}/healthz`)).status).toBe(200);
    } finally {
      await shared.close();
    }
  });
});
