import { type Delay, delayLabel } from '../../keys/delay.ts';

/**
 * `<!date^…>` renders in each reader's own time zone; the fallback (UTC) is what clients that cannot
 * render it show.
 */
export function slackDate(at: Date): string {
  const unix = Math.floor(at.getTime() / 1000);
  const fallback = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${unix}^{date_short_pretty} at {time}|${fallback}>`;
}

/** "immediately" or "in 24 hours": the delay as people say it. */
export function relativeDelay(delay: Delay): string {
  return delay === 'now' ? 'immediately' : `in ${delayLabel(delay)}`;
}

/** When the old key stops working, absolute (reader's time zone) and relative. */
export function expiryPhrase(expiresAt: Date, delay: Delay): string {
  return `${slackDate(expiresAt)} (${relativeDelay(delay)})`;
}
