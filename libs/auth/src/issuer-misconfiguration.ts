/** What about the issuer's configuration cannot work, whatever the network does. */
export type IssuerMisconfigurationProblem = 'discovery_issuer_mismatch' | 'no_key_for_allowed_algorithms';

/**
 * A permanent mismatch between the platform's issuer settings and what the issuer publishes
 * (a discovery document naming another issuer; a key set with no key usable by any allowed
 * algorithm). Unlike an unreachable issuer it does not heal by retrying: requests get 503
 * `issuer_misconfigured` without `Retry-After`, readiness fails with the cause, and a production
 * start fails with this message (both values named).
 */
export class IssuerMisconfiguration extends Error {
  constructor(
    readonly problem: IssuerMisconfigurationProblem,
    /** The configured value (issuer URL, allowed algorithms). */
    readonly expected: string,
    /** What the issuer published instead. */
    readonly found: string,
  ) {
    super(
      problem === 'discovery_issuer_mismatch'
        ? `Issuer misconfigured: OIDC_ISSUER is "${expected}" but its discovery document names the issuer "${found}"; they must match exactly (OpenID Connect Discovery 1.0 section 4.3)`
        : `Issuer misconfigured: OIDC_ALGORITHMS allows ${expected} but the issuer publishes no signing key for them (keys: ${found})`,
    );
    this.name = 'IssuerMisconfiguration';
  }

  /** Safe facts for logs, readiness and audit: configuration and published metadata, never a token. */
  toJSON(): Record<string, string> {
    return { problem: this.problem, expected: this.expected, found: this.found };
  }
}
