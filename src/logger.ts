import { type DestinationStream, type Logger, pino } from 'pino';
import { TOKEN_LIKE } from './keys/token.ts';

export type { Logger };

/**
 * Field names that may hold a key string or a credential. Redaction removes them by path; the
 * scrubbing stream below is the second line of defence for anything that slips into a message.
 */
const REDACT_PATHS = [
  'token',
  'key',
  'secret',
  'plaintext',
  'authorization',
  '*.token',
  '*.key',
  '*.secret',
  '*.plaintext',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
];

/** Replaces anything shaped like a key string before a log line leaves the process. */
export function scrubbingStream(target: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      target.write(line.replace(TOKEN_LIKE, '[REDACTED]'));
    },
  };
}

export function createLogger(level: string, destination: DestinationStream = pino.destination(1)): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, base: { service: 'rekey' } },
    scrubbingStream(destination),
  );
}
