import { describe, it, expect } from 'vitest';
import { AuthFailure } from './auth-failure';
import { reasonOf } from './auth-failure.testing';
import { parseAuthorization, parseBearerToken } from './bearer';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';

describe('parseBearerToken', () => {
  describe('accepts', () => {
    it.each([
      ['canonical scheme', `Bearer ${TOKEN}`],
      ['lower-case scheme', `bearer ${TOKEN}`],
      ['upper-case scheme', `BEARER ${TOKEN}`],
      ['two spaces after the scheme', `Bearer  ${TOKEN}`],
      ['a tab after the scheme', `Bearer\t${TOKEN}`],
      ['a trailing space', `Bearer ${TOKEN} `],
      ['a trailing tab', `Bearer ${TOKEN}\t`],
    ])('%s', (_label, header) => {
      expect(parseBearerToken(header)).toBe(TOKEN);
    });

    it('keeps b64token padding and the RFC 6750 punctuation', () => {
      expect(parseBearerToken('Bearer a-b_c.d~e+f/g==')).toBe('a-b_c.d~e+f/g==');
    });
  });

  describe('refuses', () => {
    it('anything after the token as malformed_authorization', () => {
      expect(() => parseBearerToken(`Bearer ${TOKEN} extra`)).toThrow(AuthFailure);
      expect(reasonOf(() => parseBearerToken(`Bearer ${TOKEN} extra`))).toBe('malformed_authorization');
    });

    it('a second header smuggled after CRLF as malformed_authorization', () => {
      expect(reasonOf(() => parseBearerToken(`Bearer ${TOKEN}\r\nX-Other: y`))).toBe('malformed_authorization');
    });

    it.each([
      ['the scheme alone', 'Bearer'],
      ['the scheme and blanks', 'Bearer   \t'],
      ['an empty header', ''],
      ['a blank header', '   '],
      ['no header', undefined],
    ])('%s as missing_token', (_label, header) => {
      expect(() => parseBearerToken(header)).toThrow(AuthFailure);
      expect(reasonOf(() => parseBearerToken(header))).toBe('missing_token');
    });

    it.each([
      ['Basic credentials', 'Basic dXNlcjpwYXNz'],
      ['a scheme that only starts with Bearer', `Bearerx ${TOKEN}`],
      ['a token without any scheme', TOKEN],
    ])('%s as unsupported_scheme', (_label, header) => {
      expect(reasonOf(() => parseBearerToken(header))).toBe('unsupported_scheme');
    });

    it.each([
      ['characters outside b64token', '!!!.@@@.###'],
      ['padding that does not end the token', '=abc'],
      ['a quote', 'abc"def'],
    ])('%s as malformed_token', (_label, token) => {
      expect(() => parseBearerToken(`Bearer ${token}`)).toThrow(AuthFailure);
      expect(reasonOf(() => parseBearerToken(`Bearer ${token}`))).toBe('malformed_token');
    });

    it('a header given several times (array) as malformed_authorization', () => {
      expect(reasonOf(() => parseBearerToken([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]))).toBe('malformed_authorization');
      expect(reasonOf(() => parseBearerToken([`Bearer ${TOKEN}`]))).toBe('malformed_authorization');
    });
  });

  it('reports failures with status 401', () => {
    try {
      parseBearerToken(undefined);
      expect.unreachable('parseBearerToken(undefined) should throw');
    } catch (err) {
      expect((err as AuthFailure).status).toBe(401);
    }
  });
});

describe('parseAuthorization', () => {
  it('reads the DPoP scheme (RFC 9449 section 7.1) as well as Bearer, case-insensitively', () => {
    expect(parseAuthorization('DPoP abc.def.ghi')).toEqual({ scheme: 'DPoP', token: 'abc.def.ghi' });
    expect(parseAuthorization('dpop   abc.def.ghi ')).toEqual({ scheme: 'DPoP', token: 'abc.def.ghi' });
    expect(parseAuthorization('bearer abc.def.ghi')).toEqual({ scheme: 'Bearer', token: 'abc.def.ghi' });
  });

  it('applies the same token rules to both schemes', () => {
    expect(reasonOf(() => parseAuthorization('DPoP'))).toBe('missing_token');
    expect(reasonOf(() => parseAuthorization('DPoP a b'))).toBe('malformed_authorization');
    expect(reasonOf(() => parseAuthorization('DPoPx abc'))).toBe('unsupported_scheme');
    expect(reasonOf(() => parseBearerToken('DPoP abc'))).toBe('unsupported_scheme');
  });
});
