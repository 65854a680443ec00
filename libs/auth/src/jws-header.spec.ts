import { describe, it, expect } from 'vitest';
import { AuthFailure } from './auth-failure';
import { reasonOf } from './auth-failure.testing';
import { decodeJwsHeader } from './jws-header';

const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/** A compact JWS with the given header (payload `{}` and a dummy signature). */
const jws = (header: unknown) => `${b64url(header)}.${b64url({})}.c2ln`;

describe('decodeJwsHeader', () => {
  it('returns alg, kid and typ of a good header', () => {
    expect(decodeJwsHeader(jws({ alg: 'RS256', kid: 'key-1', typ: 'at+jwt' }))).toEqual({
      alg: 'RS256',
      kid: 'key-1',
      typ: 'at+jwt',
    });
  });

  it('leaves kid and typ undefined when absent, and ignores other header fields', () => {
    const header = decodeJwsHeader(jws({ alg: 'ES256', x5t: 'abc' }));
    expect(header).toEqual({ alg: 'ES256', kid: undefined, typ: undefined });
  });

  it.each([
    ['two segments', 'abc.def'],
    ['two segments with a real header', `${b64url({ alg: 'RS256' })}.e30`],
    ['four segments', `${b64url({ alg: 'RS256' })}.e30.c2ln.c2ln`],
    ['an empty header segment', '.e30.c2ln'],
    ['an empty payload segment', `${b64url({ alg: 'RS256' })}..c2ln`],
    ['a header without alg', 'e30.e30.'],
    ['an empty alg', jws({ alg: '' })],
    ['a non-string alg', jws({ alg: 256 })],
    ['a header that is not base64url', '!!!.e30.c2ln'],
    ['base64 padding in the header', `${b64url({ alg: 'RS256' })}=.e30.c2ln`],
    ['a header that is not JSON', `${b64url('not json')}.e30.c2ln`],
    ['a JSON array header', jws([{ alg: 'RS256' }])],
    ['a JSON null header', jws(null)],
    ['a JSON string header', jws('"RS256"')],
    ['a crit header', jws({ alg: 'RS256', crit: ['exp'] })],
    ['a numeric kid', jws({ alg: 'RS256', kid: 1 })],
    ['an empty kid', jws({ alg: 'RS256', kid: '' })],
    ['a non-string typ', jws({ alg: 'RS256', typ: ['JWT'] })],
  ])('refuses %s as malformed_token', (_label, token) => {
    expect(() => decodeJwsHeader(token)).toThrow(AuthFailure);
    expect(reasonOf(() => decodeJwsHeader(token))).toBe('malformed_token');
  });

  it('flags crit in the failure details', () => {
    try {
      decodeJwsHeader(jws({ alg: 'RS256', crit: ['b64'], b64: false }));
      expect.unreachable('a crit header should be refused');
    } catch (err) {
      expect((err as AuthFailure).details).toEqual({ crit: true });
    }
  });
});
