import { createHash } from 'node:crypto';
import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { PlatformConfig } from '@platform/config';
import { AppRegistry } from '@platform/feature-apps';
import { SharedCounters } from '@platform/redis';
import { AuthFailure } from '../auth-failure';

/** What a proof must match: the request it came with and the token it accompanies. */
export interface DpopRequest {
  /** Every `DPoP` header value of the request, as received (exactly one is accepted). */
  proofs: string[];
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

/** A proof that passed every check but the replay check, which {@link DpopProofVerifier.claim} makes. */
export interface CheckedProof {
  /** Key of its `jti` in the replay cache (per bound key). */
  replayKey: string;
  /** How long the `jti` must be remembered, in milliseconds. */
  ttlMs: number;
}

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
 * In two steps, {@link check} then {@link claim}, both before the principal's rate limit is
 * charged, so that a replayed proof spends the sender address's budget and never its victim's.
 */
@Injectable()
export class DpopProofVerifier implements OnModuleInit {
  constructor(
    private readonly config: PlatformConfig,
    private readonly counters: SharedCounters,
    @Optional() private readonly registry?: AppRegistry,
  ) {}

  /**
   * Every check but the replay check.
   * @throws AuthFailure `invalid_dpop_proof` with `details.problem` naming the failed check
   */
  async check(request: DpopRequest): Promise<CheckedProof> {
    const fail = (problem: string): never => {
      throw new AuthFailure('invalid_dpop_proof', { problem });
    };
    if (request.proofs.length === 0) fail('missing');
    if (request.proofs.length > 1) fail('several_proofs');
    const proof = request.proofs[0];
    if (proof.length > MAX_PROOF_LENGTH) fail('too_large');

    let payload: Record<string, unknown>;
    let jwk: JWK;
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS });
      payload = verified.payload;
      jwk = verified.protectedHeader.jwk as JWK;
    } catch (err) {
      return fail(joseProblem(err));
    }
    const { jti, htm, htu, iat, ath } = payload;
    if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256) fail('jti');
    if (htm !== request.method) fail('htm_mismatch');
    if (
      typeof htu !== 'string' ||
      normalizedTarget(htu) === undefined ||
      normalizedTarget(htu) !== normalizedTarget(request.url)
    )
      fail('htu_mismatch');
    const now = Date.now();
    const maxAge = this.config.dpop.proofMaxAgeSeconds;
    const tolerance = this.config.oidc.clockToleranceSeconds;
    if (typeof iat !== 'number') fail('iat');
    if ((iat as number) > now / 1000 + tolerance) fail('iat_in_future');
    if ((iat as number) < now / 1000 - maxAge) fail('too_old');
    if (ath !== createHash('sha256').update(request.accessToken).digest('base64url')) fail('ath_mismatch');
    if ((await calculateJwkThumbprint(jwk, 'sha256')) !== request.boundKeyThumbprint) fail('key_mismatch');
    // Remembered for the whole window in which the proof could pass the iat check again.
    return { replayKey: `dpop:${request.boundKeyThumbprint}:${jti as string}`, ttlMs: (maxAge + tolerance) * 1000 };
  }

  /**
   * Records the proof's `jti` (across instances when Redis is configured).
   * @throws AuthFailure `invalid_dpop_proof` with `problem: replayed` when it was seen before
   */
  async claim(proof: CheckedProof): Promise<void> {
    const { first } = await this.counters.firstUse(proof.replayKey, proof.ttlMs, Date.now());
    if (!first) throw new AuthFailure('invalid_dpop_proof', { problem: 'replayed' });
  }

  /**
   * Start-up check: `DPOP_REQUIRED_FOR_MACHINES` names only apps the platform knows (a typo would
   * silently require DPoP nowhere).
   * @throws Error naming the unknown apps
   */
  onModuleInit(): void {
    if (!this.registry) return;
    const known = this.registry.knownNames();
    const unknown = this.config.dpop.requiredForMachinesApps.filter((app) => !known.includes(app));
    if (unknown.length)
      throw new Error(
        `DPOP_REQUIRED_FOR_MACHINES names unknown apps: ${unknown.join(', ')} (known: ${known.join(', ')})`,
      );
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
 * RFC 9449 section 4.3 point 9 / RFC 3986 section 6.2.2-6.2.3, as far as the WHATWG URL parser
 * goes: scheme and host lower-cased, default port dropped, dot segments resolved; query and
 * fragment ignored. Percent-encodings are compared as written (`%7E` and `~` differ), which can
 * only refuse a proof, never accept a wrong one. Unparsable input never matches.
 */
export function normalizedTarget(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return undefined;
  }
}
