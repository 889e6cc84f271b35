import { describe, expect, it } from 'vitest';
import {
  clientIpFromHeaders,
  gatewayRequestFromHeaders,
  MAX_USER_AGENT,
  parseClientField,
} from '../../src/http/client-identity.ts';

describe('client identity as a gateway passes it on', () => {
  it("takes X-Forwarded-For's first address, else X-Real-IP, and only IP literals", () => {
    expect(clientIpFromHeaders({ 'x-forwarded-for': '10.0.3.7, 172.16.0.1', 'x-real-ip': '9.9.9.9' })).toBe(
      '10.0.3.7',
    );
    expect(clientIpFromHeaders({ 'x-forwarded-for': ' 2001:db8::1 ' })).toBe('2001:db8::1');
    expect(clientIpFromHeaders({ 'x-real-ip': '192.0.2.4' })).toBe('192.0.2.4');
    expect(clientIpFromHeaders({ 'x-forwarded-for': 'unknown', 'x-real-ip': '192.0.2.4' })).toBe('192.0.2.4');
    expect(clientIpFromHeaders({ 'x-forwarded-for': '<script>' })).toBeNull();
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
    ]) {
      expect(parseClientField(bad)).toBeNull();
    }
  });
});
