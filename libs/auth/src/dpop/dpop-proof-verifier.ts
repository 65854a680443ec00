import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { PlatformConfig } from '@platform/config';
import { SharedCounters } from '@platform/redis';
import { AuthFailure } from '../auth-failure';

/** What a proof must match: the request it came with and the token it accompanies. */
export interface DpopRequest {
  /** The proof JWT: the one `DPoP` header's value. */
  proof: string | string[] | undefined;
  /** HTTP method, upper case. */
  method: string;
  /** The request's absolute URL as the client addressed it (query and fragment are ignored). */
  url: string;
  /** The access token presented with `Authorization: DPoP`. */
  accessToken: string;
  /** `cnf.jkt` of that token: the proof's key must have this thumbprint. */
  boundKeyThumbprint: string;
}

/** Proof algorithms accepted (RFC 9449 section 4.2: asymmetric only; `none` and HS* never). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'];

/** Largest proof accepted, in characters: a proof is a small JWS with one public key. */
const MAX_PROOF_LENGTH = 8192;

/**
 * Checks a DPoP proof for a protected resource request (RFC 9449 section 4.3 and 7.1), with jose
 * for the JWS: one `DPoP` header; `typ: dpop+jwt`; an asymmetric `alg`; a public `jwk` in the
 * header that verifies the signature and whose SHA-256 thumbprint (RFC 7638) equals the token's
 * `cnf.jkt`; `htm` equal to the method; `htu` equal to the request URL without query and fragment
 * (after normalisation); `iat` no older than `DPOP_PROOF_MAX_AGE_SECONDS` and not in the future
 * beyond the clock tolerance; `ath` equal to base64url(SHA-256(access token)); and a `jti` never
 * seen before within that window, across instances when Redis is configured.
 *
 * Nonces (`DPoP-Nonce`, section 8) are not used: the `iat` window and the shared `jti` cache bound
 * replays instead.
 *
 * @throws AuthFailure `invalid_dpop_proof` with `details.problem` naming the failed check
 */
@Injectable()
export class DpopProofVerifier {
  constructor(
    private readonly config: PlatformConfig,
    private readonly counters: SharedCounters,
  ) {}

  async verify(request: DpopRequest): Promise<void> {
    const fail = (problem: string): never => {
      throw new AuthFailure('invalid_dpop_proof', { problem });
    };
    if (request.proof === undefined) fail('missing');
    if (Array.isArray(request.proof)) fail('several_proofs');
    const proof = request.proof as string;
    if (proof.length > MAX_PROOF_LENGTH) fail('too_large');

    let payload: Record<string, unknown>;
    let jwk: JWK;
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS });
      payload = verified.payload as Record<string, unknown>;
      jwk = verified.protectedHeader.jwk as JWK;
    } catch (err) {
      return fail(joseProblem(err));
    }
    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256) fail('jti');
    if (htm !== request.method) fail('htm_mismatch');
    if (typeof htu !== 'string' || normalizedTarget(htu) === undefined || normalizedTarget(htu) !== normalizedTarget(request.url)) fail('htu_mismatch');
    const now = Date.now();
    const maxAge = this.config.dpop.proofMaxAgeSeconds;
    const tolerance = this.config.oidc.clockToleranceSeconds;
    if (typeof iat !== 'number') fail('iat');
    if ((iat as number) > now / 1000 + tolerance) fail('iat_in_future');
    if ((iat as number) < now / 1000 - maxAge) fail('too_old');
    if (ath !== createHash('sha256').update(request.accessToken).digest('base64url')) fail('ath_mismatch');
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== request.boundKeyThumbprint) fail('key_mismatch');
    // Remembered for the whole window in which the proof could pass the iat check again.
    const { first } = await this.counters.firstUse(`dpop:${request.boundKeyThumbprint}:${jti as string}`, (maxAge + tolerance) * 1000, now);
    if (!first) fail('replayed');
  }
}

/** A stable problem code for a jose verification error (never its message, which may quote input). */
function joseProblem(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'invalid_signature';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'alg_not_allowed';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return (err as { claim?: string }).claim === 'typ' ? 'typ' : 'claims';
    default:
      // Not a compact JWS, no usable public `jwk` header (absent, or a private key), unparsable claims.
      return 'malformed';
  }
}

/**
 * RFC 9449 section 4.3 point 9 / RFC 3986 section 6.2.2-6.2.3: scheme and host lower-cased,
 * default port dropped, dot segments resolved, percent-encoding normalised by the URL parser;
 * query and fragment ignored. Unparsable input never matches.
 */
export function normalizedTarget(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return undefined;
  }
}
