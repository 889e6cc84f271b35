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

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/**
 * "in 23 hours 59 minutes": how long until `at`, as of `now`. A view is a snapshot, so this is correct
 * when published; App Home is republished on open and after every change that concerns it.
 */
export function timeUntil(at: Date, now: Date): string {
  const minutes = Math.floor((at.getTime() - now.getTime()) / 60_000);
  if (at.getTime() <= now.getTime()) return 'now';
  if (minutes < 1) return 'in less than a minute';
  if (minutes < 60) return `in ${plural(minutes, 'minute')}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return `in ${plural(hours, 'hour')}${rest ? ` ${plural(rest, 'minute')}` : ''}`;
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return `in ${plural(days, 'day')}${rest ? ` ${plural(rest, 'hour')}` : ''}`;
}
