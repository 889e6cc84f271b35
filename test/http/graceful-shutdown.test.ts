import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { spawnRekey } from './rekey-process.ts';

// An existing ./data: the subject is shutting down, not creating the folder.
const dir = projectWithData('rekey-shutdown-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const API_TOKEN = 'shutdown-token-0123456789abcdefghij';

it('on SIGTERM finishes the request in flight, stops, and exits 0 within 10 s', async () => {
  const rekey = await spawnRekey({ REKEY_DATA_DIR: join(dir, 'data'), REKEY_API_TOKENS: API_TOKEN });
  const { port, hostname } = new URL(rekey.url);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  const body = JSON.stringify({ key: 'rk_live_not_a_key' });
  let response = '';
  socket.on('data', (chunk) => {
    response += chunk.toString();
  });
  // A request in flight: headers and half the body sent before the signal.
  socket.write(
    `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_TOKEN}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
  );
  await new Promise((r) => setTimeout(r, 200));
  const signalled = performance.now();
  rekey.child.kill('SIGTERM');
  // The rest of the body arrives once shutdown has begun.
  await rekey.printed('shutting down');
  socket.write(body.slice(5));
  const code = await rekey.exited;
  const elapsed = performance.now() - signalled;
  expect(response).toMatch(/^HTTP\/1\.1 200/);
  expect(response).toContain('"code":"MALFORMED"');
  expect(code).toBe(0);
  expect(elapsed).toBeLessThan(10_000);
  // New connections are refused once it is gone.
  await expect(fetch(`${rekey.url}/healthz`)).rejects.toThrow();
}, 60_000);
