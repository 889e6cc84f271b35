import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { rawExchange, verifyHead } from './raw-http.ts';
import { API_TOKEN, postVerify, startVerifyServer } from './verify-server.ts';

let database: TestDatabase;
let services: ReturnType<typeof testServices>;
let server: Awaited<ReturnType<typeof startVerifyServer>>;
beforeAll(async () => {
  database = await openTestDatabase();
  services = testServices(database);
  server = await startVerifyServer({ database, changes: services.changes, clock: services.clock });
});
afterAll(async () => {
  await server?.close();
  await database?.close();
});

describe('POST /v1/keys/verify', () => {
  it('refuses a request without a valid bearer token with 401', async () => {
    const { token } = generateToken('rk_live');
    for (const auth of [null, 'Bearer wrong', `Basic ${API_TOKEN}`, `Bearer ${API_TOKEN}x`, 'Bearer']) {
      const res = await postVerify(server.url, { key: token }, auth);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.json).not.toHaveProperty('valid');
    }
  });

  it('checks the bearer token on every request, even on a connection that already passed', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (authorization: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${server.url}/v1/keys/verify`,
          { method: 'POST', agent, headers: { authorization, 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ key: generateToken('rk_live').token }));
      });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    // Same length as the right header, one character off: the connection's proven header must not
    // let it through (a proxy may carry several clients on one connection).
    const sameLengthWrong = `Bearer ${API_TOKEN.slice(0, -1)}${API_TOKEN.endsWith('x') ? 'y' : 'x'}`;
    expect(await send(`Bearer ${API_TOKEN}`)).toBe(200);
    expect(await send(sameLengthWrong)).toBe(401);
    expect(await send(`Bearer ${API_TOKEN}`)).toBe(200);
    expect(await send('Bearer wrong')).toBe(401);
    expect(await send(`Bearer ${API_TOKEN}`)).toBe(200);
    expect(sockets.size).toBe(1);
    agent.destroy();
  });

  it('answers 400, never 5xx, for a body that is not {"key": string}', async () => {
    for (const body of [
      '',
      'not json',
      '{"key":',
      '[]',
      'null',
      '42',
      '{"key":42}',
      '{"token":"x"}',
      '"rk"',
      // Invalid JSON that a shortcut parser could mistake for a plain body: a raw control character.
      '{"key":"rk_live_\u0001"}',
      '{"key":"abc\n"}',
    ]) {
      const res = await postVerify(server.url, body);
      expect(res.status, body).toBe(400);
      expect(res.json.error).toBe('bad_request');
    }
    const huge = await postVerify(server.url, { key: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
  });

  it('reads the key the same way whatever valid JSON spelling the gateway sends', async () => {
    const { token } = await createTestKey(services);
    const spellings = [
      JSON.stringify({ key: token }),
      `{ "key" : "${token}" }`,
      `{"key":"${token}","extra":1}`,
      `{"key":"${token.replace('_', '\\u005f')}"}`,
    ];
    for (const body of spellings) {
      const res = await postVerify(server.url, body);
      expect(res.status, body).toBe(200);
      expect(res.json, body).toMatchObject({ valid: true, status: 'active' });
    }
  });

  it('gives each of many simultaneous requests its own answer', async () => {
    // Answers decided in one event-loop turn are written together (response-batch.ts): none may be
    // lost, duplicated or sent to another request's connection.
    const keys = await Promise.all(Array.from({ length: 10 }, () => createTestKey(services)));
    const asks = Array.from({ length: 120 }, (_, i) => {
      if (i % 4 === 3)
        return { key: generateToken('rk_live').token, expected: { valid: false, code: 'NOT_FOUND' } };
      if (i % 4 === 2) return { key: `rk_live_${i}`, expected: { valid: false, code: 'MALFORMED' } };
      const { token, key } = keys[i % keys.length]!;
      return { key: token, expected: { valid: true, keyId: key.id, name: key.name } };
    });
    // Twice: the first pass fills the cache (promise path), the second is answered from it (same tick).
    for (let pass = 0; pass < 2; pass++) {
      const answers = await Promise.all(asks.map(({ key }) => postVerify(server.url, { key })));
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(200);
        expect(answer.json).toMatchObject(asks[i]!.expected);
      });
    }
  });

  it('keeps answering everyone else when clients hang up before their answer is written', async () => {
    const { token } = await createTestKey(services);
    const body = JSON.stringify({ key: token });
    const { port } = new URL(server.url);
    const hangUps = Array.from(
      { length: 30 },
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1', () => {
            socket.write(
              `POST /v1/keys/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_TOKEN}\r\n` +
                `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            );
            // Reset in the same turn the request arrives: its answer is queued for a dead socket.
            socket.resetAndDestroy();
          });
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
        }),
    );
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, () => postVerify(server.url, { key: token })),
      ...hangUps,
    ]);
    for (const answer of answers.slice(0, 30)) {
      expect(answer).toMatchObject({ status: 200, json: { valid: true } });
    }
    expect((await postVerify(server.url, { key: token })).json).toMatchObject({ valid: true });
  });

  it('answers a body that arrives after its headers, in pieces', async () => {
    const { token } = await createTestKey(services);
    const body = JSON.stringify({ key: token });
    const answers = await rawExchange(server.url, [
      verifyHead(API_TOKEN, [`Content-Length: ${body.length}`]),
      30,
      body.slice(0, 10),
      30,
      body.slice(10),
    ]);
    expect(answers[0]!.status).toBe(200);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ valid: true, status: 'active' });
  });

  it('reads chunked bodies, and refuses one over the limit with 413 whether it arrives at once or not', async () => {
    const { token } = await createTestKey(services);
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const chunked = verifyHead(API_TOKEN, ['Transfer-Encoding: chunked']);
    const [small] = await rawExchange(server.url, [
      chunked,
      chunk(JSON.stringify({ key: token })),
      '0\r\n\r\n',
    ]);
    expect(JSON.parse(small!.body)).toMatchObject({ valid: true });

    const big = chunk(JSON.stringify({ key: 'x'.repeat(5_000) }));
    const [atOnce] = await rawExchange(server.url, [`${chunked}${big}0\r\n\r\n`]);
    expect(atOnce!.status).toBe(413);
    const [trickling] = await rawExchange(server.url, [
      chunked,
      big.slice(0, 3_000),
      30,
      big.slice(3_000),
      30,
    ]);
    expect(trickling!.status).toBe(413);
  });

  it('answers pipelined requests on one connection, each with its own answer, in order', async () => {
    const { token } = await createTestKey(services);
    const ask = (key: string) => {
      const body = JSON.stringify({ key });
      return verifyHead(API_TOKEN, [`Content-Length: ${body.length}`]) + body;
    };
    const answers = await rawExchange(
      server.url,
      [ask(token) + ask(generateToken('rk_live').token) + ask('rk_live_nope') + ask(token)],
      4,
    );
    const verdicts = answers.map((a) => JSON.parse(a.body) as { valid: boolean; code?: string });
    expect(verdicts.map((v) => (v.valid ? 'valid' : v.code))).toEqual([
      'valid',
      'NOT_FOUND',
      'MALFORMED',
      'valid',
    ]);
  });

  it('answers 405 for other methods', async () => {
    const res = await fetch(`${server.url}/v1/keys/verify`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('answers active, expiring, EXPIRED, MALFORMED and NOT_FOUND keys with 200 and their JSON', async () => {
    const { token, key } = await createTestKey(services, { products: ['payments-api'] });
    const active = await postVerify(server.url, { key: token });
    expect(active.status).toBe(200);
    expect(active.headers.get('content-type')).toMatch(/^application\/json/);
    expect(active.json).toEqual({
      valid: true,
      keyId: key.id,
      name: key.name,
      products: ['payments-api'],
      status: 'active',
      expiresAt: null,
    });
    // Second time from the cache: byte-for-byte the same answer.
    expect((await postVerify(server.url, { key: token })).json).toEqual(active.json);

    await rotateTestKey(services, { id: key.id }, '1h');
    const expiring = await postVerify(server.url, { key: token });
    expect(expiring.json).toEqual({
      ...active.json,
      status: 'expiring',
      expiresAt: new Date(services.clock.now().getTime() + 3_600_000).toISOString(),
    });
    services.clock.advance(3_600_000);
    expect((await postVerify(server.url, { key: token })).json).toEqual({ valid: false, code: 'EXPIRED' });
    expect((await postVerify(server.url, { key: 'rk_live_nope' })).json).toEqual({
      valid: false,
      code: 'MALFORMED',
    });
    expect((await postVerify(server.url, { key: generateToken('rk_live').token })).json).toEqual({
      valid: false,
      code: 'NOT_FOUND',
    });
  });

  it('exports the verify metrics on /metrics', async () => {
    const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
    const count = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? 0);
    const timed = /^rekey_verify_duration_seconds_count (\d+)$/m;
    const active = /^rekey_verify_total\{outcome="active"\} (\d+)$/m;
    const before = await scrape();
    const { token } = await createTestKey(services);
    await postVerify(server.url, { key: token });
    await postVerify(server.url, { key: token });
    const text = await scrape();
    // Every answered request is timed once and counted once by outcome.
    expect(count(text, timed) - count(before, timed)).toBe(2);
    expect(count(text, active) - count(before, active)).toBe(2);
    expect(text).toMatch(/rekey_verify_total\{outcome="active"\} \d+/);
    expect(text).toMatch(/rekey_verify_total\{outcome="MALFORMED"\} \d+/);
    expect(text).toMatch(/rekey_verify_duration_seconds_bucket\{le="0.001"\} \d+/);
    expect(text).toMatch(/rekey_verify_cache_hits_total [1-9]\d*/);
    expect(text).toMatch(/rekey_verify_cache_misses_total [1-9]\d*/);
    expect(text).toMatch(/rekey_verify_cache_entries [1-9]\d*/);
    expect(text).toMatch(/rekey_cache_invalidations_total\{origin="local"\} [1-9]\d*/);
    expect(text).toContain('rekey_invalidation_channel_up 1');
    for (const name of [
      'rekey_rotations_total',
      'rekey_scheduler_notifications_total',
      'rekey_slack_api_errors_total',
      'rekey_database_errors_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} counter`);
    }
  });

  it('reports readiness from the database', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true });
  });
});
