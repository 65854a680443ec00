import { Reflector } from '@nestjs/core';
import type { ExecutionContext } from '@nestjs/common';
import type { PlatformConfig } from '@platform/config';
import { ProblemException, type RequestState } from '@platform/http';
import { PlatformMetrics } from '@platform/observability';
import { RedisService, SharedCounters } from '@platform/redis';
import { describe, expect, it, vi } from 'vitest';
import { BEARER_TOKEN } from './jwt-bearer.strategy';
import type { AccessStateService } from './access/access-state.service';
import { PrincipalEvents } from './access/principal-events';
import type { DpopProofVerifier } from './dpop/dpop-proof-verifier';
import type { IssuerRegistry } from './issuer-registry';
import { parseRateLimitPolicy } from './limits/rate-limit-policy';
import { RateLimiter } from './limits/rate-limiter';
import { PlatformAuthGuard } from './platform-auth.guard';
import { parsePolicy } from './policy/policy-document';
import { PolicyService } from './policy/policy.service';
import type { Principal } from './principal';
import { SAMPLE_ISSUER, samplePrincipal } from './principal.testing';
import { ROUTE_POLICY, type RoutePolicy } from './route-policy';
import { VerifiedTokenCache } from './verified-token-cache';

const ISSUER = SAMPLE_ISSUER;
const TOKEN = 'header.payload.signature';
const alice: Principal = samplePrincipal();
const READ: RoutePolicy = { kind: 'permissions', permissions: ['billing:invoices:read'], tenant: 'required' };

/** The access state the guard reads, changed the way a reload changes it (a new version). */
class FakeAccess {
  version = 0;
  bindings = new Map<string, string[]>([['alice', ['billing-viewer']]]);
  deactivated = new Set<string>();
  rolesOf = (_tenant: string | null, subject: string) => this.bindings.get(subject) ?? [];
  isDeactivated = (_tenant: string | null, subject: string) => this.deactivated.has(subject);
  serviceAccount = () => undefined;
  change(apply: () => void): void {
    apply();
    this.version += 1;
  }
}

/**
 * The guard with a remembered verification of TOKEN (passport is never reached; with
 * `verifiedBefore` false, passport verifies it on the first request as the strategy does: it
 * remembers it), one route, budgets in memory.
 */
function setup(userBudget = 1000, verifiedBefore = true) {
  const config = {
    oidc: { issuer: ISSUER, audiences: ['api'], clockToleranceSeconds: 0 },
    dpop: { publicOrigin: undefined, requiredForMachinesApps: [] },
    delegationMaxDepth: 1,
    serviceAccountsRequired: false,
    rateLimitInstances: 1,
  } as unknown as PlatformConfig;
  const issuers = {
    resolve: () => ({ trusted: { keys: { currentKeyFingerprint: () => 'fp' }, config: { clockToleranceSeconds: 0 } } }),
  } as unknown as IssuerRegistry;
  const metrics = new PlatformMetrics();
  const limits = new RateLimiter(config, new SharedCounters(config, new RedisService(config), metrics));
  limits.use(
    parseRateLimitPolicy(
      `windowSeconds: 60\ndefaults:\n  user: ${userBudget}\n  service: 10\n  agent: 10\n  anonymous: 10\n`,
      ['platform'],
    ),
  );
  const policy = new PolicyService(config);
  policy.use(parsePolicy('roles:\n  billing-viewer:\n    permissions: [billing:invoices:read]\n', 'policy.yaml'));
  const cache = new VerifiedTokenCache(config, issuers);
  if (verifiedBefore) cache.set(TOKEN, alice, 'k1');
  const access = new FakeAccess();
  const guard = new PlatformAuthGuard(
    new Reflector(),
    policy,
    config,
    access as unknown as AccessStateService,
    new PrincipalEvents(),
    {} as DpopProofVerifier,
    limits,
    metrics,
    cache,
  );
  const passport = vi
    .spyOn(guard as unknown as { passport: (c: unknown, r: unknown, token: string) => Promise<Principal> }, 'passport')
    .mockImplementation((_context, _request, token) => {
      cache.set(token, alice, 'k1');
      return Promise.resolve(alice);
    });
  const handler = () => undefined;
  Reflect.defineMetadata(ROUTE_POLICY, READ, handler);
  const call = () => {
    const request = {
      headers: { authorization: `Bearer ${TOKEN}` },
      raw: { rawHeaders: ['Authorization', `Bearer ${TOKEN}`] },
      routeOptions: { url: '/billing/invoices' },
      url: '/billing/invoices',
      ip: '127.0.0.1',
    } as unknown as { platform: RequestState };
    const headers: Record<string, string> = {};
    const reply = { headers: (h: Record<string, string>) => Object.assign(headers, h) };
    const http = { getRequest: () => request, getResponse: () => reply };
    const context = { switchToHttp: () => http, getHandler: () => handler, getClass: () => Object };
    return { result: () => guard.canActivate(context as unknown as ExecutionContext), request, headers };
  };
  /** The guard's answer to one request: its outcome, the request state, the headers set. */
  const send = async () => {
    const { result, request, headers } = call();
    let outcome: unknown;
    try {
      outcome = await result();
    } catch (err) {
      outcome = err;
    }
    return { outcome, state: request.platform, headers };
  };
  return { guard, policy, access, limits, call, send, passport };
}

describe('PlatformAuthGuard: a bearer token already allowed on a route', () => {
  it('is allowed again in one synchronous step, recorded as the full pipeline records it, without asking the policy', async () => {
    const { policy, call, send } = setup();
    const first = await send();
    expect(first.outcome).toBe(true);
    const decide = vi.spyOn(policy, 'decide');
    const { result, request, headers } = call();
    expect(result()).toBe(true);
    expect(decide).not.toHaveBeenCalled();
    const { startedAt: _a, ...state } = request.platform;
    const { startedAt: _b, ...firstState } = first.state;
    expect(state).toEqual(firstState);
    expect(state).toMatchObject({
      decision: 'allow',
      reason: 'permission_granted',
      app: 'platform',
      required: ['billing:invoices:read'],
      principal: { subject: 'alice', boundRoles: ['billing-viewer'] },
    });
    expect(headers.ratelimit).toMatch(/^"platform\.user";r=998;t=\d+$/);
  });

  it('a token verified by passport in its first request takes the one synchronous step from its second', async () => {
    const { policy, call, send, passport } = setup(1000, false);
    const first = await send();
    expect(first.outcome).toBe(true);
    expect(passport).toHaveBeenCalledTimes(1);
    const decide = vi.spyOn(policy, 'decide');
    const { result, request, headers } = call();
    expect(result()).toBe(true);
    expect(decide).not.toHaveBeenCalled();
    expect(passport).toHaveBeenCalledTimes(1);
    expect(request.platform).toMatchObject({ decision: 'allow', reason: 'permission_granted' });
    expect(headers.ratelimit).toMatch(/^"platform\.user";r=998;t=\d+$/);
  });

  it('a role binding removed is seen on the next request', async () => {
    const { access, send } = setup();
    expect((await send()).outcome).toBe(true);
    expect((await send()).outcome).toBe(true);
    access.change(() => access.bindings.delete('alice'));
    const { outcome, state } = await send();
    expect(outcome).toBeInstanceOf(ProblemException);
    expect(outcome).toMatchObject({ reason: 'insufficient_permission' });
    expect(state).toMatchObject({ decision: 'deny', details: { missing: ['billing:invoices:read'] } });
  });

  it('a deactivated principal is refused on the next request', async () => {
    const { access, send } = setup();
    expect((await send()).outcome).toBe(true);
    expect((await send()).outcome).toBe(true);
    access.change(() => access.deactivated.add('alice'));
    const { outcome, state } = await send();
    expect(outcome).toMatchObject({ reason: 'principal_deactivated' });
    expect(state).toMatchObject({ decision: 'deny', reason: 'principal_deactivated' });
  });

  it('a policy put in force is applied on the next request', async () => {
    const { policy, send } = setup();
    expect((await send()).outcome).toBe(true);
    expect((await send()).outcome).toBe(true);
    policy.use(parsePolicy('roles:\n  billing-viewer:\n    permissions: [billing:invoices:export]\n', 'v2.yaml'));
    expect((await send()).outcome).toMatchObject({ reason: 'insufficient_permission' });
  });

  it('still spends the budget: over it, 429 audited with the token principal, as the full pipeline does', async () => {
    const { send } = setup(2);
    expect((await send()).outcome).toBe(true);
    expect((await send()).outcome).toBe(true);
    const { outcome, state } = await send();
    expect(outcome).toMatchObject({ reason: 'rate_limited' });
    expect(state).toMatchObject({
      decision: 'deny',
      reason: 'rate_limited',
      principal: { subject: 'alice', boundRoles: [] },
      details: { budget: 'platform.user', limit: 2 },
    });
  });

  it('the full pipeline counts a remembered token in memory without the limiter promise chain, with the same headers and 429', async () => {
    const { access, limits, send } = setup(2, false);
    const consume = vi.spyOn(limits, 'consume');
    const first = await send();
    expect(first.outcome).toBe(true);
    expect(first.headers.ratelimit).toMatch(/^"platform\.user";r=1;t=\d+$/);
    // Every step again (a changed access state), counted on the same budget: now spent.
    access.change(() => undefined);
    expect((await send()).outcome).toBe(true);
    access.change(() => undefined);
    const { outcome, state } = await send();
    expect(outcome).toMatchObject({ reason: 'rate_limited' });
    expect(state).toMatchObject({
      decision: 'deny',
      reason: 'rate_limited',
      details: { budget: 'platform.user', limit: 2 },
    });
    expect(consume).not.toHaveBeenCalled();
  });
});

describe('PlatformAuthGuard: passport', () => {
  it('lends passport the token on the request during the call only, clearing it without a delete (which would make the request a dictionary object)', async () => {
    const { guard } = setup(1000, false);
    const deleted: (string | symbol)[] = [];
    const fields: Record<string | symbol, unknown> = { headers: {} };
    const request = new Proxy(fields, {
      deleteProperty: (target, key) => {
        deleted.push(key);
        return Reflect.deleteProperty(target, key);
      },
    });
    let lent: unknown;
    const parent = Object.getPrototypeOf(PlatformAuthGuard.prototype) as { canActivate: (c: unknown) => unknown };
    const canActivate = vi.spyOn(parent, 'canActivate').mockImplementation(function (this: unknown) {
      lent = request[BEARER_TOKEN];
      request.user = alice;
      return Promise.resolve(true);
    });
    const context = { switchToHttp: () => ({ getRequest: () => request }) };
    // The guard's own method (setup() stubs it on the instance).
    const viaPassport = (
      PlatformAuthGuard.prototype as unknown as { passport: (c: unknown, r: unknown, t: string) => Promise<Principal> }
    ).passport;
    try {
      await expect(viaPassport.call(guard, context, request, TOKEN)).resolves.toBe(alice);
    } finally {
      canActivate.mockRestore();
    }
    expect(lent).toBe(TOKEN);
    expect(request[BEARER_TOKEN]).toBeUndefined();
    expect(deleted).toEqual([]);
  });
});
