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

  it('decodes the same token twice in a row once: the same frozen header', () => {
    const token = jws({ alg: 'RS256', kid: 'key-1' });
    const first = decodeJwsHeader(token);
    // An equal string built apart (as each request's header is): still the same header.
    expect(decodeJwsHeader(`${token.slice(0, 5)}${token.slice(5)}`)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => ((first as { alg: string }).alg = 'none')).toThrow(TypeError);
  });

  it('decodes another token as its own, and refuses a malformed one after a good one', () => {
    const good = jws({ alg: 'RS256', kid: 'key-1' });
    decodeJwsHeader(good);
    expect(decodeJwsHeader(jws({ alg: 'ES256', kid: 'key-2' }))).toEqual({
      alg: 'ES256',
      kid: 'key-2',
      typ: undefined,
    });
    expect(reasonOf(() => decodeJwsHeader(`${good}.c2ln`))).toBe('malformed_token');
    expect(reasonOf(() => decodeJwsHeader(jws({ alg: 'RS256', crit: ['b64'] })))).toBe('malformed_token');
    // The failure was not kept: the good token still decodes, and so does the failing one fail again.
    expect(decodeJwsHeader(good).kid).toBe('key-1');
    expect(reasonOf(() => decodeJwsHeader(`${good}.c2ln`))).toBe('malformed_token');
  });
});
