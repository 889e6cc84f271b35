import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  body: string;
}

/**
 * Writes raw bytes to an HTTP server — in pieces, with pauses between them — and reads back the first
 * `answers` responses (Content-Length framed, as rekey's answers are). For what fetch cannot send:
 * a body that arrives after its headers, chunked bodies, pipelined requests.
 */
export function rawExchange(url: string, pieces: (string | number)[], answers = 1): Promise<RawAnswer[]> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = connect(Number(port), '127.0.0.1', async () => {
      for (const piece of pieces) {
        if (typeof piece === 'number') await new Promise((r) => setTimeout(r, piece));
        else socket.write(piece);
      }
    });
    const parsed = (): RawAnswer[] | undefined => {
      const out: RawAnswer[] = [];
      let rest = received.toString('latin1');
      while (out.length < answers) {
        const headEnd = rest.indexOf('\r\n\r\n');
        if (headEnd < 0) return undefined;
        const head = rest.slice(0, headEnd);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (rest.length < headEnd + 4 + length) return undefined;
        out.push({ status: Number(head.split(' ')[1]), body: rest.slice(headEnd + 4, headEnd + 4 + length) });
        rest = rest.slice(headEnd + 4 + length);
      }
      return out;
    };
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const done = parsed();
      if (done) {
        socket.destroy();
        resolve(done);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed after: ${received.toString('latin1')}`)));
  });
}

/** A request head for POST /v1/keys/verify with these extra header lines. */
export function verifyHead(apiToken: string, headers: string[]): string {
  return [
    'POST /v1/keys/verify HTTP/1.1',
    'Host: rekey.test',
    `Authorization: Bearer ${apiToken}`,
    'Content-Type: application/json',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

export interface RawClose {
  /** Everything the server wrote before it closed the connection. */
  text: string;
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
}

/**
 * Writes `pieces` (strings, or pauses in ms) and resolves once the server closes the connection, with all
 * it answered. Writes stop as soon as the server has closed (or reset) it; rejects after `giveUpMs`.
 */
export function rawUntilClosed(
  url: string,
  pieces: (string | number)[],
  giveUpMs = 10_000,
): Promise<RawClose> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let received = '';
    let closed = false;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`server kept the connection open ${giveUpMs} ms; it answered: ${received}`));
    }, giveUpMs);
    const socket = connect(Number(port), '127.0.0.1', async () => {
      for (const piece of pieces) {
        if (closed) return;
        if (typeof piece === 'number') await new Promise((r) => setTimeout(r, piece));
        else socket.write(piece);
      }
    });
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    // A reset after the answer (the server cut a sender that kept writing) still counts as closed.
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      clearTimeout(giveUp);
      resolve({ text: received, closedAfterMs: performance.now() - started });
    });
  });
}
