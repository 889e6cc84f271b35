import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readBody } from '../../src/http/read-body.ts';
import { sendJson } from '../../src/http/respond.ts';
import { createHttpServer, type HttpLimits } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { rawExchange, rawUntilClosed } from './raw-http.ts';

const MiB = 1024 * 1024;
/** What reached the Slack handler (Bolt in production): the bodies it was handed. */
let handed: Buffer[] = [];

async function start(limits: Partial<HttpLimits>): Promise<{ url: string; server: Server }> {
  const server = createHttpServer({
    logger: createLogger('silent'),
    metrics: createMetrics(),
    ready: async () => true,
    verify: async (req, res) => sendJson(res, 200, { echo: await readBody(req, 4096) }),
    slack: (req, res) => {
      handed.push((req as IncomingMessage & { rawBody: Buffer }).rawBody);
      sendJson(res, 200, { ok: true });
    },
    limits,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const slackHead = (headers: string[]) =>
  [
    'POST /slack/events HTTP/1.1',
    'Host: rekey.test',
    'Content-Type: application/json',
    ...headers,
    '',
    '',
  ].join('\r\n');
const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;

const servers: Server[] = [];
beforeEach(() => {
  handed = [];
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('/slack/events body size (production limit: 1 MiB)', () => {
  let url: string;
  beforeAll(async () => {
    const started = await start({});
    servers.push(started.server);
    url = started.url;
  });

  it('hands a body of exactly 1 MiB to Bolt, already read, byte for byte', async () => {
    const body = 'x'.repeat(MiB);
    const [answer] = await rawExchange(url, [slackHead([`Content-Length: ${body.length}`]), body]);
    expect(answer!.status).toBe(200);
    expect(handed).toHaveLength(1);
    expect(handed[0]!.toString()).toBe(body);
  });

  it('answers 413 to a declared Content-Length over 1 MiB without waiting for the body, and closes', async () => {
    // Only the head is sent: the answer and the close must come without a byte of the body.
    const closed = await rawUntilClosed(url, [slackHead([`Content-Length: ${MiB + 1}`])]);
    expect(closed.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(closed.text).toContain(`at most ${MiB} bytes`);
    expect(handed).toHaveLength(0);
  });

  it('answers 413 to a chunked body that grows past 1 MiB, and closes the connection', async () => {
    const piece = chunk('y'.repeat(64 * 1024));
    // 40 × 64 KiB = 2.5 MiB offered; the server must cut it off after about 1 MiB.
    const pieces: (string | number)[] = [slackHead(['Transfer-Encoding: chunked'])];
    for (let i = 0; i < 40; i++) pieces.push(piece, 5);
    const closed = await rawUntilClosed(url, pieces);
    expect(closed.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(handed).toHaveLength(0);
  });
});

describe('/slack/events and slow senders', () => {
  let url: string;
  beforeAll(async () => {
    const started = await start({ slackBodyMs: 300, headersMs: 600, requestMs: 5_000, checkEveryMs: 100 });
    servers.push(started.server);
    url = started.url;
  });

  it('answers 408 and closes when the body does not arrive in time after the headers', async () => {
    const closed = await rawUntilClosed(url, [slackHead(['Content-Length: 100']), 'a'.repeat(10), 3_000]);
    expect(closed.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(closed.text).toContain('did not arrive within 300 ms');
    expect(handed).toHaveLength(0);
  });

  it('closes a connection whose headers never finish', async () => {
    const closed = await rawUntilClosed(url, ['POST /slack/events HTTP/1.1\r\nHost: rekey.test\r\n', 3_000]);
    expect(closed.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(handed).toHaveLength(0);
  });

  it('hands over a body sent in pieces within the bound', async () => {
    const closedOrAnswered = await rawExchange(url, [
      slackHead(['Transfer-Encoding: chunked']),
      chunk('{"type":'),
      50,
      chunk('"event_callback"}'),
      50,
      '0\r\n\r\n',
    ]);
    expect(closedOrAnswered[0]!.status).toBe(200);
    expect(handed.map(String)).toEqual(['{"type":"event_callback"}']);
  });

  it('keeps an idle keep-alive connection open past the headers bound (a gateway pool reuses it)', async () => {
    const request =
      'POST /v1/keys/verify HTTP/1.1\r\nHost: rekey.test\r\nContent-Length: 11\r\n\r\n{"key":"k"}';
    const answers = await rawExchange(url, [request, 1_500, request], 2);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
  });

  it('does not put the Slack body timer on the verify route', async () => {
    const [answer] = await rawExchange(url, [
      'POST /v1/keys/verify HTTP/1.1\r\nHost: rekey.test\r\nContent-Length: 11\r\n\r\n',
      500,
      '{"key":"k"}',
    ]);
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ echo: '{"key":"k"}' }) });
  });
});
