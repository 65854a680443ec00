import { describe, expect, it } from 'vitest';
import { reasonOf } from './auth-failure.testing';
import { unverifiedIssuer } from './unverified-issuer';

const b64url = (text: string) => Buffer.from(text).toString('base64url');
/** A compact JWS with this exact payload text (header `{"alg":"RS256"}`, a dummy signature). */
const withPayload = (payload: string) => `${b64url('{"alg":"RS256"}')}.${b64url(payload)}.c2ln`;
const parsedIss = (payload: string): unknown => (JSON.parse(payload) as { iss?: unknown }).iss;

describe('unverifiedIssuer', () => {
  it.each([
    ['a plain payload', '{"iss":"https://issuer.example","sub":"alice","exp":1}'],
    ['iss not first', '{"sub":"alice","iss":"https://issuer.example/realms/a"}'],
    ['whitespace around the colon', '{ "sub" : "alice" ,\n\t"iss" :\r\n "https://issuer.example" }'],
    ['non-ASCII text', '{"name":"Zoë","iss":"https://émetteur.example"}'],
    [
      'an escaped iss member (parsed: the last one wins)',
      '{"iss":"https://a.example","\\u0069ss":"https://b.example"}',
    ],
    ['an escaped slash', '{"iss":"https:\\/\\/issuer.example"}'],
    ['iss twice (parsed: the last one wins)', '{"iss":"https://a.example","iss":"https://b.example"}'],
    ['"iss" as a value too', '{"aud":"iss","iss":"https://issuer.example"}'],
    ['a non-string iss', '{"iss":5}'],
    ['a null iss', '{"iss":null}'],
    ['no iss', '{"sub":"alice"}'],
    ['"iss" only as a value', '{"aud":"iss"}'],
    ['a JSON array', '[{"iss":"https://issuer.example"}]'],
  ])('reads what JSON.parse reads: %s', (_label, payload) => {
    expect(unverifiedIssuer(withPayload(payload))).toEqual(parsedIss(payload));
  });

  it.each([
    ['not JSON', 'iss=https://issuer.example'],
    ['empty', ''],
    ['a truncated object', '{"sub":"alice"'],
    ['JSON null', 'null'],
  ])('refuses a payload that is %s as malformed_token', (_label, payload) => {
    expect(reasonOf(() => unverifiedIssuer(withPayload(payload)))).toBe('malformed_token');
  });

  it('refuses a token without a payload segment as malformed_token', () => {
    expect(reasonOf(() => unverifiedIssuer('bm90LWEtand0'))).toBe('malformed_token');
  });

  it('may read a nested iss when there is no top-level one: the choice only (the verified iss must match it)', () => {
    expect(unverifiedIssuer(withPayload('{"sub":"alice","act":{"iss":"https://issuer.example","sub":"b"}}'))).toBe(
      'https://issuer.example',
    );
  });

  it('may read the iss of a braced payload that is not valid JSON inside: jsonwebtoken refuses it later', () => {
    expect(unverifiedIssuer(withPayload('{"iss":"https://issuer.example",}'))).toBe('https://issuer.example');
  });
});
