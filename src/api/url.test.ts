import { describe, expect, it } from 'vitest';
import { resolveEndpoint } from './url.js';

describe('resolveEndpoint (API.md §Conventions)', () => {
  it.each([
    ['astronomer.io', 'astronomer.io', 'https://api.astronomer.io'],
    ['cloud.astronomer.io', 'astronomer.io', 'https://api.astronomer.io'],
    ['https://astronomer.io/', 'astronomer.io', 'https://api.astronomer.io'],
    ['http://localhost:8080', 'localhost:8080', 'http://localhost:8080'],
    ['http://127.0.0.1:4000/', '127.0.0.1:4000', 'http://127.0.0.1:4000'],
    ['localhost:8080', 'localhost:8080', 'http://localhost:8080'],
    ['https://envmgr.example.com/base/v1', 'envmgr.example.com', 'https://envmgr.example.com/base'],
    ['example.com', 'example.com', 'https://api.example.com'],
  ])('%s → %s at %s', (input, domain, apiUrl) => {
    expect(resolveEndpoint(input)).toEqual({ domain, apiUrl });
  });

  it('rejects what is not a domain or URL', () => {
    expect(() => resolveEndpoint('')).toThrow(/empty domain/);
    expect(() => resolveEndpoint('ftp://x.example')).toThrow(/unsupported scheme/);
    // A slip in the scheme, or a path without one, is not taken for a domain (https://api.http and the like).
    expect(() => resolveEndpoint('http:/127.0.0.1:18471')).toThrow('"http:/127.0.0.1:18471" is neither a domain nor a URL; did you mean http://127.0.0.1:18471?');
    expect(() => resolveEndpoint('HTTPS:example.com')).toThrow(/did you mean https:\/\/example\.com\?/);
    expect(() => resolveEndpoint('ht!tp://bad url')).toThrow(/is neither a domain nor a URL; pass e\.g\. astronomer\.io/);
    expect(() => resolveEndpoint('example.com/some/path')).toThrow(/neither a domain nor a URL/);
    expect(() => resolveEndpoint('user@example.com')).toThrow(/neither a domain nor a URL/);
    expect(resolveEndpoint('[::1]:8080')).toEqual({ domain: '[::1]:8080', apiUrl: 'http://[::1]:8080' });
    expect(resolveEndpoint('example.com/')).toEqual({ domain: 'example.com', apiUrl: 'https://api.example.com' });
  });
});
