import { expect, it } from 'vitest';
import { generateToken } from '../src/keys/token.ts';
import { createLogger } from '../src/logger.ts';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

it('never writes a key string, whether in a field, a nested object, a message or an error', () => {
  const { lines, destination } = capture();
  const logger = createLogger('trace', destination);
  const { token } = generateToken('rk_live');
  logger.info({ token }, 'token field');
  logger.info({ key: token, request: { key: token, authorization: `Bearer ${token}` } }, 'nested');
  logger.warn(`message with ${token} inside`);
  logger.error({ err: new Error(`failed for ${token}`) }, 'error');
  logger.info({ note: `free text ${token}.` }, 'free text');
  const output = lines.join('');
  expect(lines).toHaveLength(5);
  expect(output).not.toContain(token);
  expect(output).not.toContain(token.slice(8, 40));
  expect(output).toContain('[REDACTED]');
});
