import { execFileSync } from 'node:child_process';

/**
 * Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it). Never a downloaded browser:
 * this machine cannot fetch one. A missing browser fails the browser tests with this message.
 */
export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH?.trim();
  if (configured) return configured;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Chromium is not installed: run `apt-get install -y chromium` (or set CHROMIUM_PATH).');
  }
}

/** The flags that let headless Chromium run as root on a machine with no outside network. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
