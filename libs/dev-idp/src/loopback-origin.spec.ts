import { describe, expect, it } from 'vitest';
import { isLoopbackOrigin } from './loopback-origin';

describe('isLoopbackOrigin', () => {
  it.each(['http://127.0.0.1:3000', 'http://localhost:8080', 'http://[::1]:3000', 'http://127.0.0.1'])(
    'accepts %s',
    (origin) => {
      expect(isLoopbackOrigin(origin)).toBe(true);
    },
  );

  it.each([
    'https://127.0.0.1:3000',
    'https://localhost',
    'http://evil.example',
    'http://127.0.0.1.evil.example',
    'http://localhost.evil.example:3000',
    'null',
    '',
    'file://localhost/x',
  ])('refuses %s', (origin) => {
    expect(isLoopbackOrigin(origin)).toBe(false);
  });
});
