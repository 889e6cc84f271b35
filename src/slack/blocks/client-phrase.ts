import type { SecretClient, SecretClients } from '../../services/client-uses.ts';
import { escapeMrkdwn } from './text.ts';
import { formatCount, timeAgo } from './use-phrase.ts';

/** Clients named in a card line or a reminder; the rest are counted ("and 2 more"). */
export const CLIENTS_NAMED = 3;
/** A user agent is the client's to choose: shown cut to this, and escaped. */
const MAX_USER_AGENT_SHOWN = 60;

const calls = (n: number) => `${formatCount(n)} call${n === 1 ? '' : 's'}`;

/**
 * A user agent as mrkdwn: escaped (it is whatever the client sent, so `<!channel>` must not ping
 * anyone) and without backticks, which would break out of the code span around the address.
 */
function userAgentText(userAgent: string): string {
  const cut =
    userAgent.length > MAX_USER_AGENT_SHOWN ? `${userAgent.slice(0, MAX_USER_AGENT_SHOWN - 1)}…` : userAgent;
  return escapeMrkdwn(cut.replaceAll('`', "'"));
}

/** "`10.0.3.7` python-requests/2.31 — 1 200 calls, last 2 min ago". */
export function describeClient(client: SecretClient, now: Date): string {
  const who =
    client.ip === null && client.userAgent === null
      ? 'an unknown client (the gateway passed no address or user agent)'
      : [
          client.ip === null ? 'no address' : `\`${client.ip}\``,
          client.userAgent === null ? 'no user agent' : userAgentText(client.userAgent),
        ].join(' ');
  return `${who} — ${calls(client.uses)}, last ${timeAgo(client.lastUsedAt, now)}`;
}

/** "still used by 3 clients: …; …; … and 2 more" (the top CLIENTS_NAMED, then the count of the rest). */
export function stillUsedBy(clients: SecretClients, now: Date): string {
  const named = clients.top.slice(0, CLIENTS_NAMED);
  const rest = clients.total - named.length;
  const who = clients.total === 1 ? '1 client' : `${clients.total} clients`;
  return `still used by ${who}: ${named.map((c) => describeClient(c, now)).join('; ')}${rest > 0 ? `; and ${rest} more` : ''}`;
}
