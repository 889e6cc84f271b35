import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The ceiling for the verify benchmark: plain node:http answering a constant body the size and shape
 * of a real verify answer. It reads the request body like any POST endpoint must, and does nothing else.
 */
const body = Buffer.from(
  JSON.stringify({
    valid: true,
    keyId: '3f0c6a52-9d7e-4c1b-8a55-0d4e9b7f2a11',
    name: 'bench-key-00042',
    products: ['payments-api', 'billing'],
    status: 'active',
    expiresAt: null,
  }),
);

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
