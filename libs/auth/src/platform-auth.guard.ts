import { ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlatformConfig } from '@platform/config';
import { ProblemException, requestState, type RequestState } from '@platform/http';
import { AppRegistry } from '@platform/feature-apps';
import { PlatformMetrics } from '@platform/observability';
import { AccessStateService } from './access/access-state.service';
import { deactivatedRoleOf } from './access/deactivation';
import { PrincipalEvents } from './access/principal-events';
import { AuthFailure } from './auth-failure';
import { parseAuthorization, type PresentedToken } from './bearer';
import { GROUPS_OVERAGE_DETAIL } from './claim-values';
import { challenge, noCredentialChallenge } from './challenges';
import { DpopProofVerifier, type CheckedProof } from './dpop/dpop-proof-verifier';
import { BEARER_TOKEN, JWT_BEARER_STRATEGY, reasonForJwtError } from './jwt-bearer.strategy';
import { anonymousBudgetKey } from './limits/client-address';
import { rateLimitHeaders, RateLimiter } from './limits/rate-limiter';
import type { BudgetKind } from './limits/rate-limit-policy';
import { PolicyService } from './policy/policy.service';
import type { Principal } from './principal';
import { actingClientOf, budgetKeyOf, budgetKindOf, isDelegated, isMachine } from './principal-kinds';
import { ROUTE_POLICY, type RoutePolicy } from './route-policy';
import { trace } from '@opentelemetry/api';

const GUARD_TRACER = trace.getTracer('@platform/auth');

/** Refusals about the DPoP proof or binding: their challenge uses the DPoP scheme (RFC 9449 section 7.1). */
const DPOP_REASONS = new Set(['dpop_proof_required', 'invalid_dpop_proof', 'dpop_token_not_bound', 'dpop_required']);

/** Every value of one request header, as received: Node joins or drops repeated headers, the raw list does not. */
function headerValues(request: FastifyRequest, name: string): string[] {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === name.length && raw[i].toLowerCase() === name) values.push(raw[i + 1]);
  return values;
}

/** Refusals whose audit record carries the evidence (expected vs presented values). */
const EVIDENCE_REASONS = new Set(['aud_mismatch', 'iss_mismatch', 'expired', 'not_yet_valid', 'iat_in_future', 'lifetime_exceeded', 'missing_exp']);

/**
 * The one global guard (registered as `APP_GUARD`): authentication, then authorization, deny by
 * default. Every outcome is written to the request state before the guard returns or throws,
 * because guard exceptions never reach interceptors: the audit hook reads the state instead.
 *
 * - No policy metadata on the route: 403 `no_policy` (the boot check also refuses such routes).
 * - Public: allowed without reading any token (`public_route`).
 * - Token problems: 401 with `WWW-Authenticate: Bearer ... error="invalid_token"` (RFC 6750 section 3);
 *   a request without a credential is offered both Bearer and DPoP.
 * - Principal outside any tenant on a tenant route: 403 `tenant_required`.
 * - Missing permission: 403 `insufficient_permission` (people) or `insufficient_scope` with
 *   `error="insufficient_scope"` and the scopes that would grant it (machines).
 * - Delegated tokens (RFC 8693 `act`): the chain is limited to `DELEGATION_MAX_DEPTH` actors, the
 *   agent's client is bound like a machine, and the person's roles and the scopes must both grant.
 * - DPoP (RFC 9449): a token with `cnf.jkt` needs `Authorization: DPoP` and a valid proof; a route
 *   or app may require DPoP-bound tokens from machines. Failures: 401 with a `DPoP` challenge.
 * - Rate limits: every request spends its principal's budget (or its address's, when
 *   unauthenticated) in the app it calls; over budget: 429 `rate_limited` with `Retry-After`.
 */
@Injectable()
export class PlatformAuthGuard extends AuthGuard(JWT_BEARER_STRATEGY) {
  constructor(
    private readonly reflector: Reflector,
    private readonly policy: PolicyService,
    private readonly config: PlatformConfig,
    private readonly access: AccessStateService,
    private readonly events: PrincipalEvents,
    private readonly dpop: DpopProofVerifier,
    private readonly limits: RateLimiter,
    private readonly metrics: PlatformMetrics,
    @Optional() private readonly registry?: AppRegistry,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { [BEARER_TOKEN]?: string; user?: Principal }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const state = requestState(request);
    const route = this.reflector.getAllAndOverride<RoutePolicy | undefined>(ROUTE_POLICY, [context.getHandler(), context.getClass()]);
    if (route === undefined) {
      this.decide(state, 'deny', 'no_policy');
      throw new ProblemException(403, 'no_policy', 'This route declares no access policy, so it is closed.');
    }
    const app = this.registry?.appFor(request.routeOptions.url ?? request.url) ?? 'platform';
    // Found once per request: the audit hook reads it from here.
    state.app = app;
    if (route.kind === 'public') {
      state.required = [];
      this.decide(state, 'allow', 'public_route');
      if (route.rateLimited !== false) await this.spend(state, reply, app, 'anonymous', anonymousBudgetKey(request.ip, 'public'));
      return true;
    }
    state.required = route.kind === 'permissions' ? route.permissions : [];

    let principal: Principal;
    let presented: PresentedToken | undefined;
    try {
      // Node keeps only the first of repeated Authorization headers: refuse them instead, so that a
      // proxy and the platform can never read different tokens from one request.
      const authorization = headerValues(request, 'authorization');
      presented = parseAuthorization(authorization.length > 1 ? authorization : request.headers.authorization);
      request[BEARER_TOKEN] = presented.token;
      await super.canActivate(context);
      principal = request.user as Principal;
      state.principal = principal;
      const proof = await this.senderConstraint(request, principal, presented, app, route);
      // Before the principal's budget: a replayed proof (someone else holding a captured token and
      // proof) must spend the sender address's budget, never its victim's.
      if (proof) await this.dpop.claim(proof);
    } catch (err) {
      const refusal = this.unauthorized(state, err, request[BEARER_TOKEN], presented?.scheme);
      // A client sending bad tokens spends its address's budget: guessing and key-less floods are bounded too.
      await this.spend(state, reply, app, 'anonymous', anonymousBudgetKey(request.ip, 'refused'));
      throw refusal;
    } finally {
      delete request[BEARER_TOKEN];
    }
    await this.spend(state, reply, app, budgetKindOf(principal), budgetKeyOf(principal));
    // Platform-side state, from memory: deactivation beats any token, in every role it names
    // (subject, each actor of a delegation chain, the presenting client); bindings add roles.
    const deactivated = deactivatedRoleOf(this.access, principal);
    if (deactivated) {
      this.decide(state, 'deny', 'principal_deactivated', deactivated.role === 'subject' ? undefined : { deactivatedRole: deactivated.role, deactivated: deactivated.identity });
      throw new ProblemException(
        403,
        'principal_deactivated',
        deactivated.role === 'subject'
          ? 'This account has been deactivated by an administrator of its tenant.'
          : `The ${deactivated.role === 'actor' ? 'agent acting in this token' : 'client presenting this token'} has been deactivated by an administrator of its tenant.`,
      );
    }
    let notGranted: string[] = [];
    const delegated = isDelegated(principal);
    // Any principal with actors, whatever its type: DELEGATION_MAX_DEPTH=0 refuses every `act`.
    const maxDepth = this.config.delegationMaxDepth;
    if (delegated && principal.actors.length > maxDepth) {
      this.decide(state, 'deny', 'delegation_too_deep', { depth: principal.actors.length, maxDepth });
      throw new ProblemException(
        403,
        'delegation_too_deep',
        maxDepth === 0
          ? 'This platform accepts no delegated tokens (tokens naming an actor, act).'
          : `This token's delegation chain names ${principal.actors.length} actors; this platform accepts at most ${maxDepth}.`,
      );
    }
    if (isMachine(principal)) {
      // The client that presents the token (a machine, or the agent acting for a person) is bound
      // by what its tenant granted its service account.
      const machine = this.machineAccess(state, principal, actingClientOf(principal));
      principal = machine.principal;
      notGranted = machine.notGranted;
      request.user = principal;
    }
    // Outside any tenant only platform-wide bindings (platform roles, made by the bootstrap or `npm run grant`) exist.
    const bound = this.access.rolesOf(principal.tenant, principal.subject);
    if (bound.length > 0) {
      // Kept apart from the token's roles: role mappings apply to what the identity provider says only.
      principal = { ...principal, boundRoles: bound };
      request.user = principal;
    }
    state.principal = principal;

    if (route.tenant === 'required' && principal.tenant === null) {
      this.decide(state, 'deny', 'tenant_required');
      throw new ProblemException(403, 'tenant_required', 'This route acts within a tenant, and the access token names none.');
    }
    if (route.kind === 'authenticated') {
      this.decide(state, 'allow', 'authenticated');
      this.events.authenticated(principal);
      return true;
    }
    const decision = this.policy.decide(principal, route.permissions);
    if (decision.allowed) {
      this.decide(state, 'allow', 'permission_granted');
      this.events.authenticated(principal);
      return true;
    }
    const actor = delegated ? { actors: principal.actors.map((a) => a.subject) } : {};
    const scopeSide = decision.basis === 'scopes' || decision.basis === 'delegation';
    if (decision.basis === 'delegation' && decision.missingForSubject?.length) {
      // The person may not do it, whoever acts for them.
      this.decide(state, 'deny', 'insufficient_permission', { missing: decision.missing, missingForSubject: decision.missingForSubject, ...actor });
      throw new ProblemException(403, 'insufficient_permission', `The user this token acts for does not hold ${decision.missingForSubject.join(', ')}.`, {}, {
        missingPermissions: decision.missing,
      });
    }
    if (scopeSide && notGranted.length > 0 && this.policy.decide({ ...principal, scopes: [...principal.scopes, ...notGranted] }, route.permissions).allowed) {
      // The token carries the scope, but the tenant never granted it to this client.
      this.decide(state, 'deny', 'scope_not_granted', { missing: decision.missing, notGranted, ...actor });
      throw new ProblemException(403, 'scope_not_granted', `This client's service account is not granted the scope it would need (${notGranted.join(', ')}).`, {}, {
        missingPermissions: decision.missing,
      });
    }
    if (scopeSide) {
      const scopes = [...new Set(decision.missing.flatMap((p) => this.policy.scopesGranting(p)))];
      this.decide(state, 'deny', 'insufficient_scope', { missing: decision.missing, ...actor });
      throw new ProblemException(
        403,
        'insufficient_scope',
        delegated
          ? `The agent acting for this user is not allowed ${decision.missing.join(', ')} (its token lacks the scope).`
          : `The access token lacks a scope this route needs (${decision.missing.join(', ')}).`,
        // RFC 6750 section 3.1 / RFC 9449 section 7.1: in the scheme the token came with.
        { 'www-authenticate': challenge(presented.scheme, { error: 'insufficient_scope', scope: scopes }) },
        { missingPermissions: decision.missing },
      );
    }
    if (principal.groupsOverage) {
      // The person's groups were left out of the token: their group-derived roles are unknown, not absent.
      this.decide(state, 'deny', 'groups_overage', { missing: decision.missing, groupsOverage: true });
      throw new ProblemException(403, 'groups_overage', GROUPS_OVERAGE_DETAIL, {}, { missingPermissions: decision.missing });
    }
    this.decide(state, 'deny', 'insufficient_permission', { missing: decision.missing });
    throw new ProblemException(403, 'insufficient_permission', `Your roles do not grant ${decision.missing.join(', ')}.`, {}, {
      missingPermissions: decision.missing,
    });
  }

  /**
   * A machine principal (or the agent acting for a person) as its tenant registered it: effective scopes are the token's scopes
   * intersected with those granted to its service account in the token's tenant. Unregistered
   * machines of a tenant are refused when `SERVICE_ACCOUNTS_REQUIRED` (default); machines outside
   * any tenant (platform clients such as the metrics scraper) keep their token's scopes, which the
   * policy maps as usual, and are never subject to a tenant's binding.
   *
   * @throws ProblemException 403 `service_account_not_registered`, `principal_deactivated`
   */
  private machineAccess(state: RequestState, principal: Principal, clientId: string): { principal: Principal; notGranted: string[] } {
    if (principal.tenant === null) return { principal, notGranted: [] };
    const account = this.access.serviceAccount(principal.tenant, clientId);
    if (!account) {
      if (this.config.serviceAccountsRequired) {
        state.principal = principal;
        this.decide(state, 'deny', 'service_account_not_registered');
        throw new ProblemException(403, 'service_account_not_registered', 'This machine client is not registered as a service account of its tenant.');
      }
      return { principal, notGranted: [] };
    }
    const bound: Principal = { ...principal, scopes: principal.scopes.filter((scope) => account.scopes.has(scope)) };
    if (!account.active) {
      state.principal = bound;
      this.decide(state, 'deny', 'principal_deactivated');
      throw new ProblemException(403, 'principal_deactivated', 'This service account has been deactivated by an administrator of its tenant.');
    }
    return { principal: bound, notGranted: principal.scopes.filter((scope) => !account.scopes.has(scope)) };
  }

  /** Called by @nestjs/passport with the strategy's outcome. */
  override handleRequest<TUser = Principal>(err: unknown, user: unknown, info: unknown): TUser {
    if (user) return user as TUser;
    const failure = [err, info].find((e): e is AuthFailure => e instanceof AuthFailure);
    throw failure ?? new AuthFailure(reasonForJwtError(err ?? info));
  }

  private unauthorized(state: RequestState, err: unknown, token: string | undefined, scheme: PresentedToken['scheme'] | undefined): ProblemException {
    const failure = err instanceof AuthFailure ? err : new AuthFailure(reasonForJwtError(err));
    // The failure's own facts win: with several issuers only the check that failed knows what it expected.
    this.decide(state, 'deny', failure.reason, { ...this.evidence(failure.reason, token), ...failure.details });
    if (failure.status === 503) return new ProblemException(503, failure.reason, failure.message, failure.retryHeaders);
    // RFC 6750 section 3.1: no error code when the request carried no token at all.
    const noToken = failure.reason === 'missing_token' || failure.reason === 'unsupported_scheme';
    const error = failure.reason === 'malformed_authorization' ? 'invalid_request' : failure.reason === 'invalid_dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token';
    // RFC 9449 section 7.1: a request made with DPoP, or refused for DPoP's sake, is answered with a DPoP challenge.
    const header =
      noToken && scheme === undefined
        ? noCredentialChallenge()
        : challenge(scheme === 'DPoP' || DPOP_REASONS.has(failure.reason) ? 'DPoP' : 'Bearer', noToken ? {} : { error, description: failure.message });
    return new ProblemException(401, failure.reason, failure.message, { 'www-authenticate': header }, failure.problemExtensions);
  }

  /**
   * RFC 9449: a DPoP-bound token (`cnf.jkt`) must come with `Authorization: DPoP` and a valid proof
   * by its key; the DPoP scheme with an unbound token is refused (no silent downgrade); machines
   * and agents must use DPoP where the route or its app requires it.
   *
   * @returns the checked proof of a bound token, whose `jti` is claimed once the budget allows
   * @throws AuthFailure `dpop_proof_required`, `invalid_dpop_proof`, `dpop_token_not_bound`, `dpop_required`
   */
  private async senderConstraint(request: FastifyRequest, principal: Principal, presented: PresentedToken, app: string, route: RoutePolicy): Promise<CheckedProof | undefined> {
    if (principal.boundKeyThumbprint !== null) {
      if (presented.scheme !== 'DPoP') throw new AuthFailure('dpop_proof_required');
      // PUBLIC_ORIGIN (required in production): the Host header is the client's to choose.
      const origin = this.config.dpop.publicOrigin ?? `${request.protocol}://${request.host}`;
      return this.dpop.check({
        proofs: headerValues(request, 'dpop'),
        method: request.method,
        url: `${origin}${request.url}`,
        accessToken: presented.token,
        boundKeyThumbprint: principal.boundKeyThumbprint,
      });
    }
    if (presented.scheme === 'DPoP') throw new AuthFailure('dpop_token_not_bound');
    const required = (route.kind !== 'public' && route.dpop === 'required-for-machines') || this.config.dpop.requiredForMachinesApps.includes(app);
    if (required && isMachine(principal)) throw new AuthFailure('dpop_required', { app });
    return undefined;
  }

  /**
   * Spends one request of a budget; sets the RateLimit headers on the answer.
   * @throws ProblemException 429 `rate_limited` with `Retry-After` when the budget is spent
   */
  private async spend(state: RequestState, reply: FastifyReply, app: string, kind: BudgetKind, key: string): Promise<void> {
    const decision = await this.limits.consume(app, kind, key);
    if (decision === undefined) return;
    const headers = rateLimitHeaders(decision);
    if (decision.allowed) {
      reply.headers(headers);
      return;
    }
    const previous = state.decision === 'deny' ? { refusedFirstAs: state.reason } : {};
    this.decide(state, 'deny', 'rate_limited', { budget: decision.policyName, limit: decision.limit, windowSeconds: decision.windowSeconds, retryAfterSeconds: decision.retryAfterSeconds, shared: decision.shared, ...previous });
    this.metrics.rateLimited.labels(app, kind).inc();
    throw new ProblemException(
      429,
      'rate_limited',
      `Too many requests: the ${kind} budget of ${decision.limit} requests per ${decision.windowSeconds} s in ${app} is spent. Retry after ${decision.retryAfterSeconds} s.`,
      { ...headers, 'retry-after': String(decision.retryAfterSeconds) },
    );
  }

  /**
   * Safe facts for the audit record of a refused token (pitfalls C07, C22): the expected and the
   * presented issuer or audience, the server time and the token's time claims. Read from the
   * unverified payload, as numbers and short strings only; never the token itself.
   */
  private evidence(reason: string, token: string | undefined): Record<string, unknown> {
    if (!token || !EVIDENCE_REASONS.has(reason)) return {};
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
    const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : undefined);
    const texts = (value: unknown) => (Array.isArray(value) ? value.slice(0, 10).map(text).filter(Boolean) : text(value));
    const num = (value: unknown) => (typeof value === 'number' ? value : undefined);
    if (reason === 'aud_mismatch') return { expectedAudiences: this.config.oidc.audiences, tokenAudience: texts(claims.aud) ?? null };
    if (reason === 'iss_mismatch') return { expectedIssuer: this.config.oidc.issuer, tokenIssuer: text(claims.iss) ?? null };
    return { serverTime: Math.floor(Date.now() / 1000), exp: num(claims.exp), nbf: num(claims.nbf), iat: num(claims.iat) };
  }

  private decide(state: RequestState, decision: 'allow' | 'deny', reason: string, details?: Record<string, unknown>): void {
    // A span of the request's trace when OpenTelemetry tracing is on (a no-op otherwise).
    GUARD_TRACER.startSpan('authz.decision', { attributes: { 'platform.decision': decision, 'platform.reason': reason } }).end();
    state.decision = decision;
    state.reason = reason;
    if (details && Object.keys(details).length) state.details = details;
  }
}
