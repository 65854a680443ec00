import { ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlatformConfig } from '@platform/config';
import { requestState, type RequestState } from '@platform/http';
import { AppRegistry } from '@platform/feature-apps';
import { PlatformMetrics } from '@platform/observability';
import { AccessStateService } from './access/access-state.service';
import { PrincipalEvents } from './access/principal-events';
import { AuthFailure } from './auth-failure';
import type { PresentedToken } from './bearer';
import { DpopProofVerifier } from './dpop/dpop-proof-verifier';
import { BEARER_TOKEN, JWT_BEARER_STRATEGY } from './jwt-bearer.strategy';
import { reasonForJwtError } from './jwt-errors';
import { anonymousBudgetKey } from './limits/client-address';
import { budgetId, LATER, RateLimiter } from './limits/rate-limiter';
import { budgetOutcome, spendBudget, type BudgetCharge } from './pipeline/budget.step';
import { chargeOf, knownAllow, rememberAllow, type DecisionInputs, type KnownAllow } from './pipeline/known-allow';
import { readCredential } from './pipeline/credential.step';
import { recordGuardDecision, refuse } from './pipeline/decision-record';
import { decide } from './pipeline/decision.step';
import { checkDelegation } from './pipeline/delegation.step';
import { checkDeactivation, withRoleBindings } from './pipeline/principal-state.step';
import { checkSenderConstraint } from './pipeline/sender-constraint.step';
import { passed, type StepResult } from './pipeline/step-result';
import { verifyToken } from './pipeline/token.step';
import { PolicyService } from './policy/policy.service';
import type { Principal } from './principal';
import { budgetKeyOf, budgetKindOf } from './principal-kinds';
import { ROUTE_POLICY, type RoutePolicy } from './route-policy';
import { VerifiedTokenCache, type VerifiedToken } from './verified-token-cache';

type ProtectedRoute = Exclude<RoutePolicy, { kind: 'public' }>;
type PassportRequest = FastifyRequest & { [BEARER_TOKEN]?: string; user?: Principal };

/** Who presented which token: what the authentication steps prove together. */
interface Authenticated {
  principal: Principal;
  presented: PresentedToken;
}

/** What a public or `authenticated` route requires: one shared list, frozen (a write throws rather than leaks). */
const NONE_REQUIRED = Object.freeze([]) as unknown as string[];

const NO_POLICY = {
  status: 403,
  reason: 'no_policy',
  detail: 'This route declares no access policy, so it is closed.',
} as const;

/**
 * The one global guard (registered as `APP_GUARD`): authentication, then authorization, deny by
 * default. Each step lives in `pipeline/` and returns what it proved or a refusal; {@link refuse}
 * alone turns a refusal into the problem+json answer and the audit decision, written to the
 * request state before the guard throws (guard exceptions never reach interceptors: the audit
 * hook reads the state instead). In order:
 *
 * 1. policy: no policy metadata: 403 `no_policy`; public: allowed without reading any token
 *    (`public_route`), spending the address's `anonymous` budget;
 * 2. credential: the `Authorization` header, Bearer or DPoP (401; without one, both are offered);
 * 3. token: passport-jwt (or a remembered verification) (401 `WWW-Authenticate: Bearer ...
 *    error="invalid_token"`, RFC 6750 section 3; 503 when the issuer's keys are unavailable);
 * 4. sender constraint: DPoP (RFC 9449) (401 with a `DPoP` challenge). A refusal in 2-4 spends
 *    the address's budget: guessing and key-less floods are bounded too;
 * 5. budget: the principal's (429 `rate_limited` with `Retry-After`);
 * 6. principal state: deactivation (403 `principal_deactivated`); 7. delegation and the client's
 *    service account (403); then role bindings;
 * 8. decision: tenant (403 `tenant_required`) and permissions (403 `insufficient_permission`,
 *    `insufficient_scope` with the scopes that would grant it, ...).
 *
 * A plain bearer token already verified (VerifiedTokenCache) and already allowed on this route,
 * with the same access state and policy versions since, takes one synchronous step instead: the
 * remembered allow (`pipeline/known-allow.ts`), with its budget spent again (the same refusal when
 * spent) and the same decision recorded. Any role, binding, deactivation, service-account or
 * policy change bumps a version, so the next request runs every step again.
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
    /** Read by the budget step (this guard is its {@link BudgetContext}). */
    readonly limits: RateLimiter,
    readonly metrics: PlatformMetrics,
    private readonly cache: VerifiedTokenCache,
    @Optional() private readonly registry?: AppRegistry,
  ) {
    super();
  }

  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<PassportRequest>();
    const reply = http.getResponse<FastifyReply>();
    const state = requestState(request);
    const route = this.reflector.getAllAndOverride<RoutePolicy | undefined>(ROUTE_POLICY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (route === undefined) throw refuse(state, NO_POLICY);
    // Found once per request: the audit hook reads it from here.
    const app = (state.app =
      this.registry?.appFor(state.route ?? request.routeOptions.url ?? request.url) ?? 'platform');
    if (route.kind === 'public') return this.admitPublic(state, reply, request, app, route.rateLimited !== false);
    state.required = route.kind === 'permissions' ? route.permissions : NONE_REQUIRED;
    const credential = readCredential(request);
    // A DPoP-bound token needs a fresh proof every time: only plain bearer tokens are remembered.
    const verified =
      credential.ok && credential.value.scheme === 'Bearer' ? this.cache.lookup(credential.value.token) : undefined;
    if (verified) {
      const known = knownAllow(verified, route, app, this.access.version, this.policy.version);
      if (known) return this.admitKnown(state, reply, verified.principal, known);
    }
    return this.admit(context, state, reply, app, route, credential, verified);
  }

  /**
   * Every step, in order (see the class). A plain bearer token remembered as verified (earlier, or
   * by passport in this request) and allowed here is noted ({@link rememberAllow}), so that its
   * next requests take {@link admitKnown}.
   */
  private async admit(
    context: ExecutionContext,
    state: RequestState,
    reply: FastifyReply,
    app: string,
    route: ProtectedRoute,
    credential: StepResult<PresentedToken>,
    verified: VerifiedToken | undefined,
  ): Promise<boolean> {
    const { principal: token, presented } = await this.authenticate(
      context,
      state,
      reply,
      app,
      route,
      credential,
      verified,
    );
    // A plain bearer token verified by this very request (by passport, just now) is noted as well,
    // so that its next request already takes the known-allow step; its budget key is hashed once.
    const remembered = verified ?? (presented.scheme === 'Bearer' ? this.cache.peek(presented.token) : undefined);
    const charge = remembered
      ? chargeOf(remembered, app, budgetKindOf(token), budgetKeyOf(token), budgetId)
      : { app, kind: budgetKindOf(token), key: budgetKeyOf(token) };
    this.unwrap(state, await this.spend(reply, charge));
    // Read before the steps that read them: a change made meanwhile is seen by the next request.
    const inputs: DecisionInputs = { access: this.access.version, policy: this.policy.version };
    this.unwrap(state, checkDeactivation(this.access, token));
    const client = this.unwrap(state, checkDelegation(token, this.delegationContext()));
    const principal = withRoleBindings(this.access, client.principal);
    state.principal = principal;
    const allowed = this.unwrap(state, decide(this.policy, route, principal, client.notGranted, presented.scheme));
    if (remembered) rememberAllow(remembered, route, charge as Required<BudgetCharge>, inputs, principal, allowed);
    recordGuardDecision(state, 'allow', allowed);
    this.events.authenticated(principal);
    return true;
  }

  /**
   * A plain bearer token verified earlier, allowed earlier on this route with the same access state
   * and policy: the same answer as {@link admit}, with the budget spent again, in one synchronous
   * step (unless the count must wait for Redis).
   */
  private admitKnown(
    state: RequestState,
    reply: FastifyReply,
    token: Principal,
    known: KnownAllow,
  ): boolean | Promise<boolean> {
    // As in admit: a refused budget is audited with the token's principal.
    state.principal = token;
    const spent = this.spendNow(reply, known.charge);
    if (spent instanceof Promise) return spent.then((result) => this.allowKnown(state, result, known));
    return this.allowKnown(state, spent, known);
  }

  /** The end of {@link admitKnown}, once the budget is spent: the allow, as {@link admit} records it. */
  private allowKnown(state: RequestState, spent: StepResult<void>, known: KnownAllow): true {
    this.unwrap(state, spent);
    state.principal = known.principal;
    recordGuardDecision(state, 'allow', known.reason);
    this.events.authenticated(known.principal);
    return true;
  }

  /** Step 1, public route: allowed without reading any token; spends the address's budget unless exempt. */
  private async admitPublic(
    state: RequestState,
    reply: FastifyReply,
    request: FastifyRequest,
    app: string,
    rateLimited: boolean,
  ): Promise<boolean> {
    state.required = NONE_REQUIRED;
    recordGuardDecision(state, 'allow', 'public_route');
    if (rateLimited)
      this.unwrap(
        state,
        await this.spend(reply, { app, kind: 'anonymous', key: anonymousBudgetKey(request.ip, 'public') }),
      );
    return true;
  }

  /**
   * Steps 2-4: credential, token, sender constraint. On a refusal, the deny is recorded, then the
   * address's budget is spent (a spent budget answers 429 instead, keeping the first reason).
   */
  private async authenticate(
    context: ExecutionContext,
    state: RequestState,
    reply: FastifyReply,
    app: string,
    route: ProtectedRoute,
    credential: StepResult<PresentedToken>,
    verified: VerifiedToken | undefined,
  ): Promise<Authenticated> {
    const request = context.switchToHttp().getRequest<PassportRequest>();
    const result = await this.identify(context, request, state, app, route, credential, verified);
    if (result.ok) return result.value;
    const denial = refuse(state, result.refusal);
    this.unwrap(
      state,
      await this.spend(reply, { app, kind: 'anonymous', key: anonymousBudgetKey(request.ip, 'refused') }, state.reason),
    );
    throw denial;
  }

  private async identify(
    context: ExecutionContext,
    request: PassportRequest,
    state: RequestState,
    app: string,
    route: ProtectedRoute,
    credential: StepResult<PresentedToken>,
    verified: VerifiedToken | undefined,
  ): Promise<StepResult<Authenticated>> {
    if (!credential.ok) return credential;
    const presented = credential.value;
    const token = await verifyToken(presented, {
      // Looked up once per request: for a Bearer token, already by canActivate.
      cached: (t) => (presented.scheme === 'Bearer' ? verified?.principal : this.cache.get(t)),
      passport: (t) => this.passport(context, request, t),
      expected: this.config.oidc,
    });
    if (!token.ok) return token;
    // Recorded before the sender constraint: a refused proof is audited with whose token it was.
    state.principal = token.value;
    const { dpop } = this.config;
    const sender = await checkSenderConstraint(request, token.value, presented, app, route, {
      verifier: this.dpop,
      publicOrigin: dpop.publicOrigin,
      requiredForMachinesApps: dpop.requiredForMachinesApps,
    });
    return sender.ok ? passed({ principal: token.value, presented }) : sender;
  }

  /** passport-jwt through @nestjs/passport: the strategy reads the already-parsed token from the request, only during this call. */
  private async passport(context: ExecutionContext, request: PassportRequest, token: string): Promise<Principal> {
    request[BEARER_TOKEN] = token;
    try {
      await super.canActivate(context);
      return request.user as Principal;
    } finally {
      // Cleared, not deleted: deleting a property added before passport's `user` turns the request
      // object into a dictionary (slow property access for the rest of every first-seen request).
      request[BEARER_TOKEN] = undefined;
    }
  }

  /** Called by @nestjs/passport with the strategy's outcome: a principal, or an {@link AuthFailure} by error class. */
  override handleRequest<TUser = Principal>(err: unknown, user: unknown, info: unknown): TUser {
    if (user) return user as TUser;
    const failure = [err, info].find((e): e is AuthFailure => e instanceof AuthFailure);
    throw failure ?? new AuthFailure(reasonForJwtError(err ?? info));
  }

  /** Step budget, always as a promise ({@link spendNow}). */
  private spend(reply: FastifyReply, charge: BudgetCharge, refusedFirstAs?: string): Promise<StepResult<void>> {
    const spent = this.spendNow(reply, charge, refusedFirstAs);
    return spent instanceof Promise ? spent : Promise.resolve(spent);
  }

  /**
   * Step budget. A charge whose identity is already hashed is counted synchronously when it can be
   * (in memory, or within the local share of a Redis count): the same count and answer as
   * {@link spendBudget}, without the limiter's promise chain; {@link LATER} (the count needs
   * Redis) falls back to it and answers a promise.
   */
  private spendNow(
    reply: FastifyReply,
    charge: BudgetCharge,
    refusedFirstAs?: string,
  ): StepResult<void> | Promise<StepResult<void>> {
    if (charge.id !== undefined) {
      const decision = this.limits.consumeNow(charge.app, charge.kind, charge.id);
      if (decision !== LATER) return budgetOutcome(reply, charge, decision, this, refusedFirstAs);
    }
    return spendBudget(reply, charge, this, refusedFirstAs);
  }

  private delegationContext() {
    return {
      access: this.access,
      maxDepth: this.config.delegationMaxDepth,
      serviceAccountsRequired: this.config.serviceAccountsRequired,
    };
  }

  /** A step's value, or its refusal thrown as the answer. */
  private unwrap<T>(state: RequestState, result: StepResult<T>): T {
    if (!result.ok) throw refuse(state, result.refusal);
    return result.value;
  }
}
