import { ProblemException, requestState, type RequestState } from '@platform/http';
import type { FastifyReply } from 'fastify';
import { TokenExpiredError } from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { AuthFailure } from '../auth-failure';
import type { RateLimitDecision } from '../limits/rate-limiter';
import type { Principal } from '../principal';
import type { RoutePolicy } from '../route-policy';
import { spendBudget } from './budget.step';
import { refuse } from './decision-record';
import { decide } from './decision.step';
import { checkDelegation } from './delegation.step';
import { checkDeactivation, withRoleBindings } from './principal-state.step';
import { tokenEvidence } from './token-evidence';
import { tokenRefusal } from './token-refusal';
import { verifyToken } from './token.step';

const person: Principal = {
  subject: 'alice',
  type: 'user',
  tenant: 't1',
  roles: ['viewer'],
  boundRoles: [],
  scopes: [],
  clientId: 'web',
  issuer: 'https://issuer.example',
  expiresAt: 2_000_000_000,
  tokenId: null,
  actors: [],
  boundKeyThumbprint: null,
  claims: {},
};
const machine: Principal = {
  ...person,
  subject: 'svc',
  type: 'service',
  clientId: 'svc',
  scopes: ['billing:read', 'billing:write'],
};
const agentFor = (actors: number): Principal => ({
  ...person,
  actors: Array.from({ length: actors }, (_, i) => ({ subject: `agent-${i}`, clientId: `agent-${i}` })),
});
const newState = (): RequestState => requestState({} as never);

describe('tokenRefusal: a refused credential as 401/503 with its challenge', () => {
  it('no credential at all: both schemes offered, no error code', () => {
    const refusal = tokenRefusal(new AuthFailure('missing_token'), undefined);
    expect(refusal).toMatchObject({ status: 401, reason: 'missing_token' });
    expect(refusal.headers?.['www-authenticate']).toBe(
      'Bearer realm="platform", DPoP algs="ES256 ES384 PS256 RS256 EdDSA"',
    );
  });
  it('a bad Bearer token: error="invalid_token" with the description', () => {
    const refusal = tokenRefusal(new TokenExpiredError('jwt expired', new Date()), 'Bearer', { serverTime: 1 });
    expect(refusal).toMatchObject({ status: 401, reason: 'expired', audit: { serverTime: 1 } });
    expect(refusal.headers?.['www-authenticate']).toMatch(
      /^Bearer realm="platform", error="invalid_token", error_description="The access token has expired/,
    );
  });
  it('a malformed header is invalid_request; a DPoP refusal answers with a DPoP challenge', () => {
    expect(tokenRefusal(new AuthFailure('malformed_authorization'), 'Bearer').headers?.['www-authenticate']).toContain(
      'error="invalid_request"',
    );
    expect(tokenRefusal(new AuthFailure('invalid_dpop_proof'), 'DPoP').headers?.['www-authenticate']).toMatch(
      /^DPoP algs="[^"]+", error="invalid_dpop_proof"/,
    );
    expect(tokenRefusal(new AuthFailure('dpop_proof_required'), 'Bearer').headers?.['www-authenticate']).toMatch(
      /^DPoP /,
    );
  });
  it('an unreachable issuer is 503 with Retry-After; a misconfigured one without', () => {
    expect(tokenRefusal(new AuthFailure('issuer_unavailable'), 'Bearer')).toMatchObject({
      status: 503,
      headers: { 'retry-after': '5' },
    });
    expect(tokenRefusal(new AuthFailure('issuer_misconfigured'), 'Bearer')).toMatchObject({ status: 503, headers: {} });
  });
  it('the malformed claim is named in the problem and the audit', () => {
    expect(tokenRefusal(new AuthFailure('malformed_claims', { claim: 'act' }), 'Bearer')).toMatchObject({
      extensions: { claim: 'act' },
      audit: { claim: 'act' },
    });
  });
});

describe('tokenEvidence', () => {
  const token = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  it('names the expected and the presented audience or issuer, and time claims', () => {
    const expected = { issuer: 'https://issuer.example', audiences: ['api'] };
    expect(tokenEvidence('aud_mismatch', token({ aud: 'other' }), expected)).toEqual({
      expectedAudiences: ['api'],
      tokenAudience: 'other',
    });
    expect(tokenEvidence('iss_mismatch', token({ iss: 'x' }), expected)).toEqual({
      expectedIssuer: 'https://issuer.example',
      tokenIssuer: 'x',
    });
    expect(tokenEvidence('expired', token({ exp: 5 }), expected, 10_000)).toEqual({
      serverTime: 10,
      exp: 5,
      nbf: undefined,
      iat: undefined,
    });
    expect(tokenEvidence('invalid_signature', token({ exp: 5 }), expected)).toEqual({});
  });
});

describe('refuse: the one place a refusal becomes an answer', () => {
  it('records the deny with its audit details and returns the problem with its headers and extensions', () => {
    const state = newState();
    const problem = refuse(state, {
      status: 403,
      reason: 'insufficient_scope',
      detail: 'No.',
      headers: { 'www-authenticate': 'Bearer' },
      extensions: { missingPermissions: ['a:b:c'] },
      audit: { missing: ['a:b:c'] },
    });
    expect(problem).toBeInstanceOf(ProblemException);
    expect(problem.getStatus()).toBe(403);
    expect(problem.headers).toEqual({ 'www-authenticate': 'Bearer' });
    expect(problem.toProblem()).toMatchObject({
      reason: 'insufficient_scope',
      detail: 'No.',
      missingPermissions: ['a:b:c'],
    });
    expect(state).toMatchObject({ decision: 'deny', reason: 'insufficient_scope', details: { missing: ['a:b:c'] } });
  });
  it('a refusal without audit facts keeps the earlier ones', () => {
    const state = newState();
    refuse(state, { status: 401, reason: 'expired', detail: 'x', audit: { exp: 1 } });
    refuse(state, { status: 403, reason: 'no_policy', detail: 'y' });
    expect(state).toMatchObject({ reason: 'no_policy', details: { exp: 1 } });
  });
});

describe('verifyToken', () => {
  const expected = { issuer: 'https://issuer.example', audiences: ['api'] };
  it('a remembered verification answers synchronously, without passport', () => {
    const result = verifyToken(
      { scheme: 'Bearer', token: 'a.b.c' },
      { cached: () => person, passport: () => Promise.reject(new Error('not called')), expected },
    );
    expect(result).toEqual({ ok: true, value: person });
  });
  it("passport's failure becomes a refusal", async () => {
    const result = await verifyToken(
      { scheme: 'Bearer', token: 'a.b.c' },
      { cached: () => undefined, passport: () => Promise.reject(new AuthFailure('unknown_kid')), expected },
    );
    expect(result).toMatchObject({ ok: false, refusal: { status: 401, reason: 'unknown_kid' } });
  });
});

describe('principal state and delegation', () => {
  const access = (
    options: { deactivated?: string[]; account?: { active: boolean; scopes: string[] }; roles?: string[] } = {},
  ) => ({
    isDeactivated: (_tenant: string | null, id: string) => options.deactivated?.includes(id) ?? false,
    serviceAccount: () =>
      (options.account ? { ...options.account, scopes: new Set(options.account.scopes) } : undefined) as never,
    rolesOf: () => options.roles ?? [],
  });
  it('a deactivated subject or actor is refused, naming the actor in the audit', () => {
    expect(checkDeactivation(access({ deactivated: ['alice'] }), person)).toMatchObject({
      ok: false,
      refusal: { status: 403, reason: 'principal_deactivated', audit: undefined },
    });
    expect(checkDeactivation(access({ deactivated: ['agent-0'] }), agentFor(1))).toMatchObject({
      ok: false,
      refusal: { audit: { deactivatedRole: 'actor', deactivated: 'agent-0' } },
    });
    expect(checkDeactivation(access(), person)).toEqual({ ok: true, value: person });
  });
  it('role bindings are added apart from the token roles', () => {
    expect(withRoleBindings(access({ roles: ['admin'] }), person)).toMatchObject({
      roles: ['viewer'],
      boundRoles: ['admin'],
    });
    expect(withRoleBindings(access(), person)).toBe(person);
  });
  it('a delegation chain longer than the maximum is refused', () => {
    const context = { access: access(), maxDepth: 1, serviceAccountsRequired: false };
    expect(checkDelegation(agentFor(2), context)).toMatchObject({
      ok: false,
      refusal: { reason: 'delegation_too_deep', audit: { depth: 2, maxDepth: 1 } },
    });
    expect(checkDelegation(agentFor(1), { ...context, maxDepth: 0 })).toMatchObject({
      ok: false,
      refusal: { detail: expect.stringContaining('accepts no delegated tokens') as string },
    });
  });
  it("a machine's scopes are bound by its service account; unregistered or deactivated accounts are refused", () => {
    const bound = checkDelegation(machine, {
      access: access({ account: { active: true, scopes: ['billing:read'] } }),
      maxDepth: 1,
      serviceAccountsRequired: true,
    });
    expect(bound).toMatchObject({
      ok: true,
      value: { principal: { scopes: ['billing:read'] }, notGranted: ['billing:write'] },
    });
    expect(checkDelegation(machine, { access: access(), maxDepth: 1, serviceAccountsRequired: true })).toMatchObject({
      ok: false,
      refusal: { reason: 'service_account_not_registered' },
    });
    expect(checkDelegation(machine, { access: access(), maxDepth: 1, serviceAccountsRequired: false })).toMatchObject({
      ok: true,
      value: { notGranted: [] },
    });
    expect(
      checkDelegation(machine, {
        access: access({ account: { active: false, scopes: [] } }),
        maxDepth: 1,
        serviceAccountsRequired: true,
      }),
    ).toMatchObject({ ok: false, refusal: { reason: 'principal_deactivated' } });
    expect(
      checkDelegation({ ...machine, tenant: null }, { access: access(), maxDepth: 1, serviceAccountsRequired: true }),
    ).toMatchObject({ ok: true, value: { principal: { scopes: machine.scopes } } });
  });
});

describe('decide', () => {
  const route: RoutePolicy & { kind: 'permissions' } = {
    kind: 'permissions',
    permissions: ['billing:invoices:read'],
    tenant: 'required',
  };
  const policy = (grants: (p: Principal) => boolean, basis: 'roles' | 'scopes' = 'roles') => ({
    decide: (p: Principal) =>
      grants(p) ? { allowed: true, missing: [], basis } : { allowed: false, missing: ['billing:invoices:read'], basis },
    scopesGranting: () => ['billing:read'],
  });
  it('a tenant route refuses a principal without a tenant before asking the policy', () => {
    expect(
      decide(
        policy(() => true),
        route,
        { ...person, tenant: null },
        [],
        'Bearer',
      ),
    ).toMatchObject({ ok: false, refusal: { status: 403, reason: 'tenant_required' } });
    expect(
      decide(
        policy(() => true),
        { ...route, tenant: 'optional' },
        { ...person, tenant: null },
        [],
        'Bearer',
      ),
    ).toEqual({ ok: true, value: 'permission_granted' });
    expect(
      decide(
        policy(() => false),
        { kind: 'authenticated', tenant: 'required' },
        person,
        [],
        'Bearer',
      ),
    ).toEqual({ ok: true, value: 'authenticated' });
  });
  it('a person lacking a role: insufficient_permission with the missing permissions', () => {
    expect(
      decide(
        policy(() => false),
        route,
        person,
        [],
        'Bearer',
      ),
    ).toMatchObject({
      ok: false,
      refusal: {
        reason: 'insufficient_permission',
        extensions: { missingPermissions: ['billing:invoices:read'] },
        audit: { missing: ['billing:invoices:read'] },
      },
    });
    expect(
      decide(
        policy(() => false),
        route,
        { ...person, groupsOverage: true },
        [],
        'Bearer',
      ),
    ).toMatchObject({ ok: false, refusal: { reason: 'groups_overage' } });
  });
  it('a machine lacking a scope: insufficient_scope with a challenge in its scheme; a scope its account lacks: scope_not_granted', () => {
    const lacking = decide(
      policy(() => false, 'scopes'),
      route,
      machine,
      [],
      'DPoP',
    );
    expect(lacking).toMatchObject({ ok: false, refusal: { reason: 'insufficient_scope' } });
    expect(!lacking.ok && lacking.refusal.headers?.['www-authenticate']).toMatch(
      /^DPoP algs="[^"]+", error="insufficient_scope", scope="billing:read"$/,
    );
    const notGranted = decide(
      policy((p) => p.scopes.includes('billing:admin'), 'scopes'),
      route,
      machine,
      ['billing:admin'],
      'Bearer',
    );
    expect(notGranted).toMatchObject({
      ok: false,
      refusal: { reason: 'scope_not_granted', audit: { notGranted: ['billing:admin'] } },
    });
  });
});

describe('spendBudget', () => {
  const decision = (allowed: boolean): RateLimitDecision => ({
    allowed,
    limit: 10,
    remaining: 0,
    windowSeconds: 60,
    resetSeconds: 30,
    retryAfterSeconds: 7,
    policyName: 'billing.user',
    kind: 'user',
    shared: false,
  });
  const reply = () => {
    const sent: Record<string, string> = {};
    return {
      sent,
      reply: { headers: (h: Record<string, string>) => Object.assign(sent, h) } as unknown as FastifyReply,
    };
  };
  const metrics = { rateLimited: { labels: () => ({ inc: () => undefined }) } } as never;
  it('within budget: the RateLimit headers are set on the answer', async () => {
    const { sent, reply: r } = reply();
    expect(
      await spendBudget(
        r,
        { app: 'billing', kind: 'user', key: 'k' },
        { limits: { consume: async () => decision(true) }, metrics },
      ),
    ).toEqual({ ok: true, value: undefined });
    expect(sent['ratelimit-policy']).toBe('"billing.user";q=10;w=60');
  });
  it('over budget: 429 rate_limited with Retry-After, keeping the first refusal in the audit', async () => {
    const result = await spendBudget(
      reply().reply,
      { app: 'billing', kind: 'user', key: 'k' },
      { limits: { consume: async () => decision(false) }, metrics },
      'expired',
    );
    expect(result).toMatchObject({
      ok: false,
      refusal: {
        status: 429,
        reason: 'rate_limited',
        headers: { 'retry-after': '7' },
        audit: { budget: 'billing.user', refusedFirstAs: 'expired' },
      },
    });
  });
});
