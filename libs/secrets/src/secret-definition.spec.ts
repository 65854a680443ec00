import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { envNameOf, minLength, pem, urlWithCredentials } from './secret-definition';

describe('secret declarations', () => {
  it('name the environment variables after the secret', () => {
    expect(envNameOf('billing-webhook-secret')).toBe('BILLING_WEBHOOK_SECRET');
  });

  it('validate without ever quoting the value', () => {
    expect(minLength(16)('short-value')).toBe('must be at least 16 characters');
    expect(minLength(16)('a-value-long-enough')).toBeUndefined();
    const key = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    expect(pem('PRIVATE KEY')(key)).toBeUndefined();
    expect(pem('PRIVATE KEY')('not a key')).toBe('must be a PEM PRIVATE KEY');
    expect(urlWithCredentials('redis://user:s3cret@cache:6379')).toBeUndefined();
    expect(urlWithCredentials('redis://cache:6379')).toBe('must be a URL with a user and a password');
    expect(urlWithCredentials('not a url')).toBe('must be a URL');
  });
});
