import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {}

/**
 * Reads a request body up to `limit` bytes and calls back once; a larger one is refused, not buffered.
 * Callback style on purpose: the verify route answers in the same tick as the body's last chunk.
 */
export function readBodyThen(
  req: IncomingMessage,
  limit: number,
  done: (error: Error | null, text: string) => void,
): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    done(new BodyTooLargeError(`body over ${limit} bytes`), '');
    return;
  }
  // Verify bodies arrive in one chunk almost always: keep that case free of arrays and concat.
  // The listeners are anonymous on purpose: a named closure per request costs a defineProperty under
  // tsx (esbuild keepNames), measurable on the verify path.
  let first: Buffer | undefined;
  let rest: Buffer[] | undefined;
  let size = 0;
  let finished = false;
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > limit) {
      finished = true;
      req.resume();
      done(new BodyTooLargeError(`body over ${limit} bytes`), '');
      return;
    }
    if (!first) first = chunk;
    else if (rest) rest.push(chunk);
    else rest = [first, chunk];
  });
  req.on('end', () => {
    if (finished) return;
    finished = true;
    if (rest) done(null, Buffer.concat(rest).toString('utf8'));
    else done(null, first ? first.toString('utf8') : '');
  });
  req.on('error', (error) => {
    if (finished) return;
    finished = true;
    done(error, '');
  });
}

/** Reads a request body up to `limit` bytes; a larger one is refused, not buffered. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) =>
    readBodyThen(req, limit, (error, text) => (error ? reject(error) : resolve(text))),
  );
}
