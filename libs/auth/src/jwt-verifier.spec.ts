import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt, { JsonWebTokenError, NotBeforeError, TokenExpiredError } from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { AuthFailure } from './auth-failure';
import { reasonForJwtError } from './jwt-errors';
import { emptyThirdSegment, verifyWithJsonwebtoken, type JwtVerifier } from './jwt-verifier';
import { checkRegisteredClaims } from './registered-claims';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISS = 'https://issuer.example';
const AUD = 'api';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An RS256 token signed by hand: jsonwebtoken's `sign` refuses claims of the wrong type, which these tests need. */
function sign(claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: ISS, aud: AUD, sub: 's', exp: now() + 300, ...claims })}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
}
// passport-jwt's own verifier is jsonwebtoken's verify with a callback.
const jsonwebtoken: JwtVerifier = (token, key, options, callback) =>
  jwt.verify(token, key, options as jwt.VerifyOptions, callback as jwt.VerifyCallback);

/** Runs the verifier as passport-jwt does; resolves to the payload or the failure's reason. */
function verify(token: string, key: KeyObject = publicKey): Promise<unknown> {
  return new Promise((resolve) =>
    verifyWithJsonwebtoken(
      jsonwebtoken,
      token,
      key,
      { issuer: ISS, audience: [AUD], clockTolerance: 60, ...{ algorithms: ['RS256'] } },
      (err, payload) => resolve(err ? reasonForJwtError(err) : payload),
    ),
  );
}

describe('reasonForJwtError: by error class, never by message', () => {
  it.each([
    [new TokenExpiredError('jwt expired', new Date()), 'expired'],
    [new NotBeforeError('jwt not active', new Date()), 'not_yet_valid'],
    [new AuthFailure('unknown_kid'), 'unknown_kid'],
    // The messages jsonwebtoken uses mean nothing here: only the classes do.
    [new JsonWebTokenError('invalid signature'), 'invalid_token'],
    [new JsonWebTokenError('jwt audience invalid. expected: api'), 'invalid_token'],
    [new Error('anything'), 'invalid_token'],
    ['a string', 'invalid_token'],
  ])('%s -> %s', (err, reason) => {
    expect(reasonForJwtError(err)).toBe(reason);
  });
});

describe('verifyWithJsonwebtoken: every failure carries its reason by construction', () => {
  it('passes a valid token and returns its payload', async () => {
    expect(await verify(sign({}))).toMatchObject({ sub: 's', iss: ISS });
  });
  it('a changed signature is invalid_signature', async () => {
    const token = sign({});
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    expect(await verify(`${token.slice(0, -2)}${last}${token.at(-1)}`)).toBe('invalid_signature');
  });
  it('another key is invalid_signature', async () => {
    expect(await verify(sign({}), generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey)).toBe(
      'invalid_signature',
    );
  });
  it('a token without a signature is malformed_token', async () => {
    const [h, p] = sign({}).split('.');
    expect(await verify(`${h}.${p}.`)).toBe('malformed_token');
  });
  it('a payload that is not JSON is malformed_token (whatever its signature)', async () => {
    const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${Buffer.from(`{"iss":"${ISS}",}`).toString('base64url')}`;
    const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url');
    expect(await verify(`${input}.${signature}`)).toBe('malformed_token');
  });
  it('the signature is checked before the claims (a forged token with bad claims is invalid_signature)', async () => {
    const [h, , s] = sign({}).split('.');
    const p = Buffer.from(JSON.stringify({ iss: 'x', aud: 'y', exp: 'soon' })).toString('base64url');
    expect(await verify(`${h}.${p}.${s}`)).toBe('invalid_signature');
  });
  it.each([
    ['expired beyond the tolerance', { exp: now() - 120 }, 'expired'],
    ['not yet valid beyond the tolerance', { nbf: now() + 300 }, 'not_yet_valid'],
    ['exp as a string', { exp: '9999999999' }, 'malformed_claims'],
    ['nbf as a string', { nbf: 'later' }, 'malformed_claims'],
    ['another audience', { aud: 'other-api' }, 'aud_mismatch'],
    ['no audience', { aud: undefined }, 'aud_mismatch'],
    ['another issuer', { iss: `${ISS}/` }, 'iss_mismatch'],
  ])('%s -> %s', async (_name, claims, reason) => {
    expect(await verify(sign(claims))).toBe(reason);
  });
  it('within the tolerance, exp and nbf pass', async () => {
    expect(await verify(sign({ exp: now() - 30, nbf: now() + 30 }))).toMatchObject({ sub: 's' });
  });
  it('an unusable key is passed on as it is (invalid_token)', async () => {
    const { publicKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(await verify(sign({}), ec)).toBe('invalid_token');
  });
});

describe('checkRegisteredClaims: jsonwebtoken order and semantics', () => {
  const reason = (payload: unknown, options = {}, at = 1_000) => {
    try {
      checkRegisteredClaims(payload, { issuer: ISS, audience: [AUD, 'second'], clockTolerance: 10, ...options }, at);
      return 'ok';
    } catch (err) {
      return (err as AuthFailure).reason;
    }
  };
  it('nbf before exp before aud before iss', () => {
    expect(reason({ nbf: 2_000, exp: 0, aud: 'x', iss: 'y' })).toBe('not_yet_valid');
    expect(reason({ exp: 0, aud: 'x', iss: 'y' })).toBe('expired');
    expect(reason({ exp: 2_000, aud: 'x', iss: 'y' })).toBe('aud_mismatch');
    expect(reason({ exp: 2_000, aud: AUD, iss: 'y' })).toBe('iss_mismatch');
  });
  it('exp is exclusive (now >= exp + tolerance is expired); nbf is inclusive', () => {
    expect(reason({ exp: 990, aud: AUD, iss: ISS })).toBe('expired');
    expect(reason({ exp: 991, aud: AUD, iss: ISS })).toBe('ok');
    expect(reason({ nbf: 1_010, aud: AUD, iss: ISS })).toBe('ok');
    expect(reason({ nbf: 1_011, aud: AUD, iss: ISS })).toBe('not_yet_valid');
  });
  it('any token audience among the expected ones passes; no audience option (Cognito) checks none', () => {
    expect(reason({ aud: ['x', 'second'], iss: ISS })).toBe('ok');
    expect(reason({ iss: ISS }, { audience: undefined })).toBe('ok');
  });
  it('audience and issuer each as one string or as a list (passport-jwt passes every accepted iss)', () => {
    expect(reason({ aud: AUD, iss: ISS }, { audience: AUD, issuer: ['other', ISS] })).toBe('ok');
    expect(reason({ aud: [AUD], iss: ISS }, { audience: AUD, issuer: ISS })).toBe('ok');
    expect(reason({ aud: 'second', iss: ISS }, { audience: AUD })).toBe('aud_mismatch');
    expect(reason({ aud: AUD, iss: 'other' }, { issuer: [ISS] })).toBe('iss_mismatch');
    expect(reason({ aud: AUD, iss: `${ISS}/` }, { issuer: ISS })).toBe('iss_mismatch');
    expect(reason({ aud: AUD }, { issuer: ISS })).toBe('iss_mismatch');
  });
  it('a payload that is not an object has no claims', () => {
    expect(reason('text')).toBe('aud_mismatch');
    expect(reason('text', { audience: undefined, issuer: undefined })).toBe('ok');
  });
});

describe('emptyThirdSegment', () => {
  it.each([
    'a.b.',
    'a.b..c',
    '..',
    '...',
    'a..',
    '.b.',
    'a.b.c',
    'a.b',
    'abc',
    '',
    '.',
    'a.',
    'a.b.c.',
    'a.b.c.d',
    '.a.b',
  ])('is token.split(".")[2] === "" for %j', (token) => {
    expect(emptyThirdSegment(token)).toBe(token.split('.')[2] === '');
  });
});
