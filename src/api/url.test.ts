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
  });
});
