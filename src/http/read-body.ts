import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes; a larger one is refused, not buffered. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(`body over ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    // Verify bodies arrive in one chunk almost always: keep that case free of arrays and concat.
    let first: Buffer | undefined;
    let rest: Buffer[] | undefined;
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`body over ${limit} bytes`));
        req.resume();
        return;
      }
      if (!first) first = chunk;
      else if (rest) rest.push(chunk);
      else rest = [first, chunk];
    });
    req.on('end', () => {
      if (rest) resolve(Buffer.concat(rest).toString('utf8'));
      else resolve(first ? first.toString('utf8') : '');
    });
    req.on('error', reject);
  });
}
