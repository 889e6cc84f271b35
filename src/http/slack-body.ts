import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './respond.ts';

/**
 * The largest /slack/events body rekey accepts: 1 MiB. Slack's largest requests are view_submission
 * payloads, which carry the whole view (Slack refuses views over 250 KB) plus its input state, sent
 * form-encoded as `payload=<url-encoded JSON>`; percent-encoding can roughly triple JSON's punctuation
 * and non-ASCII text, so 4 × 250 KB leaves room for a full view at its worst. rekey's own modals and
 * Home tab are a few KB. Anything larger is not Slack and is refused before it is read.
 */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * How long a /slack/events body may take to arrive once its headers have. Slack sends the whole request
 * at once and gives up on an answer after 3 s, so a body still trickling in after 10 s is not Slack.
 */
export const SLACK_BODY_TIMEOUT_MS = 10_000;

export interface SlackBodyLimits {
  bytes: number;
  timeoutMs: number;
}

/** What Bolt's HTTPReceiver looks for: a request whose body it need not read again. */
type BufferedRequest = IncomingMessage & { rawBody?: Buffer };

/**
 * Reads a /slack/events body within `limits` and then hands the request to Bolt with the body attached
 * as `rawBody` (Bolt then checks the signature over it and never reads the stream itself). Bolt would
 * otherwise buffer up to 4 MB with no time bound. A declared Content-Length over the limit is answered
 * 413 at once, before any of the body is awaited; a body that grows past it gets 413, and a body slower
 * than the timeout gets 408. All three close the connection and keep none of the body, so a flood holds
 * neither memory nor a socket for long. Nothing here touches the database: that only happens once Bolt
 * has verified Slack's signature.
 */
export function readSlackBodyThen(
  req: IncomingMessage,
  res: ServerResponse,
  limits: SlackBodyLimits,
  handOver: (req: BufferedRequest) => void,
): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limits.bytes) {
    refuse(req, res, 413, 'payload_too_large', limits);
    return;
  }

  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const timer = setTimeout(() => {
    if (settled) return;
    settled = true;
    refuse(req, res, 408, 'request_timeout', limits);
  }, limits.timeoutMs);
  const settle = () => {
    settled = true;
    clearTimeout(timer);
    req.removeListener('data', onData);
  };
  const onData = (chunk: Buffer) => {
    if (settled) return;
    size += chunk.length;
    if (size > limits.bytes) {
      settle();
      chunks.length = 0; // dropped now, not when the connection ends
      refuse(req, res, 413, 'payload_too_large', limits);
      return;
    }
    chunks.push(chunk);
  };
  req.on('data', onData);
  req.on('end', () => {
    if (settled) return;
    settle();
    const buffered = req as BufferedRequest;
    buffered.rawBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    handOver(buffered);
  });
  req.on('error', () => {
    if (settled) return;
    settle();
    req.destroy();
  });
  req.on('close', () => {
    if (!settled) settle();
  });
}

/** How long a refused sender's remaining bytes are read and dropped before its connection is cut. */
const LINGER_MS = 1_000;

/**
 * Answers and closes the connection, lingering as web servers do: the answer goes out, then our side is
 * closed (FIN), and whatever the sender still pushes is read and dropped, never kept, for at most
 * LINGER_MS before the socket is cut. Cutting at once while bytes are still arriving resets the
 * connection, and the client's TCP stack then throws the answer away before the client reads it.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: 408 | 413,
  error: string,
  limits: SlackBodyLimits,
): void {
  req.resume();
  const socket = req.socket;
  const cut = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  if (res.headersSent) {
    cut();
    return;
  }
  const message =
    status === 413
      ? `Slack request bodies are at most ${limits.bytes} bytes`
      : `the request body did not arrive within ${limits.timeoutMs} ms`;
  res.once('finish', cut);
  sendJson(res, status, { error, message });
}
