import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AskerDetails, DescribeAsker } from '../services/canary-tries.ts';
import { isAuthorizePath } from './authorize-route.ts';
import { clientIpFromHeaders, gatewayRequestFromHeaders, MAX_USER_AGENT } from './client-identity.ts';

const fingerprint = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 8);

/** The bearer token of `Authorization: Bearer <token>`, or the header as it is. */
const bearerOf = (header: string) => /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1] ?? header.trim();

/**
 * How a canary's alarm names who asked, from the request the verify or authorize route passed along
 * with the key. Called off the request path (when the try is written), only for canaries.
 *
 * Which API token asked is named by its position in REKEY_API_TOKENS and the first 8 hex digits of its
 * SHA-256 (`#2 (3f2a9c1e)`: `printf %s "$TOKEN" | sha256sum` tells an operator which one), never the
 * token itself: the alarm goes to Slack. The route has already checked it is one of them.
 */
export function createAskerDescriber(apiTokens: readonly string[]): DescribeAsker {
  // By the token itself: the route has already checked the request carries one of these.
  const labels = new Map(apiTokens.map((token, i) => [token, `#${i + 1} (${fingerprint(token)})`]));
  const nameToken = (token: string | undefined): string | null =>
    token === undefined ? null : (labels.get(token) ?? null);
  return (asker: unknown): AskerDetails => {
    const req = asker as IncomingMessage | undefined;
    if (!req?.headers) {
      return { via: 'verify', clientIp: null, userAgent: null, uri: null, method: null, askedBy: null };
    }
    const { headers } = req;
    if (req.url !== undefined && isAuthorizePath(req.url)) {
      const gateway = gatewayRequestFromHeaders(headers);
      const token = headers['x-rekey-gateway-token'];
      return {
        via: 'authorize',
        clientIp: gateway.ip,
        userAgent: gateway.userAgent,
        uri: gateway.uri,
        method: gateway.method,
        askedBy: nameToken(typeof token === 'string' ? token.trim() : undefined),
      };
    }
    // The verify API's caller is a service, not the client: what it forwards of its own client, if anything.
    const userAgent = headers['user-agent'];
    return {
      via: 'verify',
      clientIp: clientIpFromHeaders(headers),
      userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null,
      uri: null,
      method: null,
      askedBy: nameToken(headers.authorization ? bearerOf(headers.authorization) : undefined),
    };
  };
}
