import { describe, expect, it } from 'vitest';
import {
  clientIpFromHeaders,
  gatewayRequestFromHeaders,
  MAX_USER_AGENT,
  parseClientField,
} from '../../src/http/client-identity.ts';
import { generateToken } from '../../src/keys/token.ts';

const KEY = generateToken('rk_live').token;

describe('client identity as a gateway passes it on', () => {
  it("takes X-Forwarded-For's first address, else X-Real-IP, and only IP literals", () => {
    expect(clientIpFromHeaders({ 'x-forwarded-for': '10.0.3.7, 172.16.0.1', 'x-real-ip': '9.9.9.9' })).toBe(
      '10.0.3.7',
    );
    expect(clientIpFromHeaders({ 'x-forwarded-for': ' 2001:db8::1 ' })).toBe('2001:db8::1');
    expect(clientIpFromHeaders({ 'x-real-ip': '192.0.2.4' })).toBe('192.0.2.4');
    expect(clientIpFromHeaders({ 'x-forwarded-for': 'unknown', 'x-real-ip': '192.0.2.4' })).toBe('192.0.2.4');
    expect(clientIpFromHeaders({ 'x-forwarded-for': '<script>' })).toBeNull();
    // An IPv6 zone is any text: refused, so nothing of the caller's choosing is stored as an address.
    expect(clientIpFromHeaders({ 'x-forwarded-for': `fe80::1%${KEY.slice(8)}` })).toBeNull();
    expect(clientIpFromHeaders({ 'x-real-ip': 'fe80::1%eth0' })).toBeNull();
    expect(clientIpFromHeaders({})).toBeNull();
  });

  it('reads the original URI and method, bounded, and the user agent cut to its limit', () => {
    const request = gatewayRequestFromHeaders({
      'x-forwarded-for': '10.0.3.7',
      'user-agent': 'x'.repeat(MAX_USER_AGENT + 50),
      'x-forwarded-uri': '/orders/7',
      'x-original-method': 'post',
    });
    expect(request).toEqual({
      ip: '10.0.3.7',
      userAgent: 'x'.repeat(MAX_USER_AGENT),
      uri: '/orders/7',
      method: 'POST',
    });
    expect(gatewayRequestFromHeaders({ 'x-original-method': 'GET /x' }).method).toBeNull();
    expect(gatewayRequestFromHeaders({})).toEqual({ ip: null, userAgent: null, uri: null, method: null });
  });

  it('keeps no key string from the user agent or the URI: scrubbed before the cut, and when glued to more text', () => {
    const atTheCut = `${'u'.repeat(MAX_USER_AGENT - KEY.length + 1)}${KEY}`;
    const request = gatewayRequestFromHeaders({
      'user-agent': atTheCut,
      'x-original-uri': `/export?key=${KEY}x&all=1`,
    });
    // Scrubbed greedily (letters glued before a key go with it): never less than the key.
    expect(request.userAgent).toMatch(/^(u*)\[key\]$/);
    expect(request.uri).toBe('/export?key=[key]&all=1');
    expect(`${request.userAgent}${request.uri}`).not.toContain(KEY.slice(8, 40));
  });

  it("accepts the verify body's client field only in its documented shape", () => {
    expect(parseClientField(undefined)).toBeUndefined();
    expect(parseClientField({ ip: '10.0.0.1', userAgent: 'curl/8' })).toEqual({
      ip: '10.0.0.1',
      userAgent: 'curl/8',
    });
    expect(parseClientField({})).toEqual({ ip: null, userAgent: null });
    for (const bad of [
      null,
      'x',
      [],
      { ip: 'example.com' },
      { ip: 7 },
      { userAgent: 'u'.repeat(MAX_USER_AGENT + 1) },
      { ip: '10.0.0.1', extra: true },
      { ip: 'fe80::1%eth0' },
      { userAgent: 'a\u0000b' },
      { userAgent: 'line\nanother' },
    ]) {
      expect(parseClientField(bad)).toBeNull();
    }
  });
});
