import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { withoutKeyStrings } from '../keys/token.ts';

/**
 * Who presented a key, as the gateway in front of rekey saw them. Never authoritative (a client can
 * forge what its gateway passes on): it names stragglers and intruders for people, it decides nothing.
 */
export interface ClientIdentity {
  /** An IPv4 or IPv6 literal, or null when the gateway passed none (or not an address). */
  ip: string | null;
  /** At most MAX_USER_AGENT characters, or null. */
  userAgent: string | null;
}

/** Where a gateway's forward-authorisation request came from: the client and what it asked for. */
export interface GatewayRequest extends ClientIdentity {
  /** The original request's URI (`X-Original-URI`, else `X-Forwarded-Uri`), at most MAX_URI characters. */
  uri: string | null;
  /** The original request's method (`X-Original-Method`, else `X-Forwarded-Method`). */
  method: string | null;
}

export const MAX_USER_AGENT = 256;
export const MAX_URI = 2048;

/** C0 controls and DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * An IPv4 or IPv6 literal without a zone (`fe80::1%eth0`): `isIP` accepts a zone of any length and
 * characters, which would let a caller store any text (a key's body among it) as an address.
 */
export function isAddress(value: string): boolean {
  return value.length <= MAX_ADDRESS && !value.includes('%') && isIP(value) !== 0;
}

/** The longest IP literal: IPv6 with an embedded IPv4 (`ffff:…:255.255.255.255`). */
const MAX_ADDRESS = 45;

/** `X-Forwarded-For`'s first address (the client, as the first proxy saw it), else `X-Real-IP`. */
export function clientIpFromHeaders(headers: IncomingHttpHeaders): string | null {
  const forwarded = header(headers, 'x-forwarded-for');
  if (forwarded !== undefined) {
    const first = forwarded.split(',', 1)[0]!.trim();
    if (isAddress(first)) return first;
  }
  const real = header(headers, 'x-real-ip')?.trim();
  return real && isAddress(real) ? real : null;
}

/** `User-Agent` without key strings, then cut to MAX_USER_AGENT characters; or null. */
export function userAgentFromHeaders(headers: IncomingHttpHeaders): string | null {
  const userAgent = header(headers, 'user-agent');
  if (!userAgent) return null;
  return withoutKeyStrings(userAgent).slice(0, MAX_USER_AGENT);
}

/** The client and the original request as nginx `auth_request`, Envoy or Traefik pass them on. */
export function gatewayRequestFromHeaders(headers: IncomingHttpHeaders): GatewayRequest {
  const uri = header(headers, 'x-original-uri') ?? header(headers, 'x-forwarded-uri');
  const method = header(headers, 'x-original-method') ?? header(headers, 'x-forwarded-method');
  return {
    ip: clientIpFromHeaders(headers),
    userAgent: userAgentFromHeaders(headers),
    uri: uri ? withoutKeyStrings(uri).slice(0, MAX_URI) : null,
    method: method && /^[A-Za-z]{1,16}$/.test(method) ? method.toUpperCase() : null,
  };
}

/**
 * The verify API's optional `"client": {"ip", "userAgent"}`: undefined when absent, null when it is
 * not that shape (an IP literal, a string of at most MAX_USER_AGENT printable characters; the caller answers
 * 400 and counts nothing), else the identity.
 */
export function parseClientField(value: unknown): ClientIdentity | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { ip, userAgent, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return null;
  if (ip !== undefined && (typeof ip !== 'string' || !isAddress(ip))) return null;
  // Control characters (NUL, newlines) are refused: PostgreSQL cannot store a NUL, and a newline
  // would add lines of the caller's choosing to a card or a reminder.
  if (
    userAgent !== undefined &&
    (typeof userAgent !== 'string' || userAgent.length > MAX_USER_AGENT || CONTROL.test(userAgent))
  ) {
    return null;
  }
  return { ip: (ip as string | undefined) ?? null, userAgent: (userAgent as string | undefined) ?? null };
}
