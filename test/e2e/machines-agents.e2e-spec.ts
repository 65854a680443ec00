import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientCredentialsToken,
  createDpopProof,
  delegatedToken,
  DEV_MACHINE_CLIENTS,
  generateDpopKey,
} from '@platform/dev-idp';
import { availableDatabases, TestPlatform } from '../support/test-platform';

const ASSISTANT = DEV_MACHINE_CLIENTS.find((c) => c.clientId === 'assistant-bot') as {
  clientId: string;
  clientSecret: string;
};
const event = (name: string) => ({ events: [{ name, timestamp: '2026-11-30T10:00:00Z' }] });
const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;

describe.each(availableDatabases())('machines and AI agents as principals on %s', (database) => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await TestPlatform.start({}, database);
  });
  afterAll(() => platform?.close());

  it('ingest-bot cannot read invoices with the extra scope its token carries: its tenant never granted it', async () => {
    const token = await platform.clientToken('ingest-bot');
    expect(String(claims(token).scope).split(' ')).toContain('billing:invoices:read');
    const refused = await platform.request('GET', '/billing/invoices', { token });
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toBe('scope_not_granted');
    expect(await platform.auditOf(refused.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'scope_not_granted',
      principalType: 'service',
      clientId: 'ingest-bot',
      actors: null,
      dpopBound: false,
      details: { notGranted: ['billing:invoices:read'] },
    });
    // What it was granted still works.
    expect((await platform.request('POST', '/analytics/events', { token, body: event('ingested') })).status).toBe(202);
  });

  it('assistant-bot acting for carol reads analytics, is denied billing (carol cannot) and writing events (the agent cannot); the trail names both', async () => {
    const token = await platform.delegatedToken('carol', 'assistant-bot');
    expect(claims(token)).toMatchObject({
      sub: 'carol',
      client_id: 'assistant-bot',
      act: { sub: 'assistant-bot' },
      tenant: 'acme',
    });

    const counts = await platform.request('GET', '/analytics/events/counts', { token });
    expect(counts.status).toBe(200);
    expect(await platform.auditOf(counts.requestId)).toMatchObject({
      decision: 'allow',
      subject: 'carol',
      principalType: 'user',
      clientId: 'assistant-bot',
      actors: [{ subject: 'assistant-bot', clientId: 'assistant-bot' }],
      tenant: 'acme',
    });

    const billing = await platform.request('GET', '/billing/invoices', { token });
    expect(billing.status).toBe(403);
    expect(billing.body.reason).toBe('insufficient_permission');
    expect(await platform.auditOf(billing.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
      subject: 'carol',
      actors: [{ subject: 'assistant-bot' }],
      details: { missingForSubject: ['billing:invoices:read'], actors: ['assistant-bot'] },
    });

    // carol's role may not write events either; with alice (admin, who may) the agent still cannot.
    const alice = await delegatedToken(
      platform.issuer,
      await platform.userToken('alice'),
      ASSISTANT,
      platform.audience,
    );
    const write = await platform.request('POST', '/analytics/events', { token: alice, body: event('from-agent') });
    expect(write.status).toBe(403);
    expect(write.body.reason).toBe('insufficient_scope');
    expect(write.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(await platform.auditOf(write.requestId)).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_scope',
      subject: 'alice',
      actors: [{ subject: 'assistant-bot' }],
    });
    // alice herself may write: the refusal was the agent's limit, not hers.
    expect(
      (
        await platform.request('POST', '/analytics/events', {
          token: await platform.userToken('alice'),
          body: event('by-alice'),
        })
      ).status,
    ).toBe(202);

    // The audit trail answers "what did this agent do, and for whom".
    await platform.flushAudit();
    const trail = await platform.request('GET', '/platform/audit?actor=assistant-bot', {
      token: await platform.userToken('alice'),
    });
    expect(trail.status).toBe(200);
    const subjects = new Set(trail.body.items.map((r: { subject: string }) => r.subject));
    expect(subjects).toEqual(new Set(['carol', 'alice']));
    expect(
      trail.body.items.every((r: { actors: { subject: string }[] }) => r.actors[0].subject === 'assistant-bot'),
    ).toBe(true);

    const metrics = await platform.request('GET', '/metrics', { token: await platform.clientToken('metrics-scraper') });
    expect(metrics.body).toMatch(
      /platform_requests_by_principal_total\{app="analytics",principal_type="agent",token_binding="bearer",decision="allow"\} [1-9]/,
    );
    expect(metrics.body).toMatch(
      /platform_requests_by_principal_total\{app="billing",principal_type="agent",token_binding="bearer",decision="deny"\} [1-9]/,
    );
    // The explanation agrees with the guard, for an agent too.
    const explain = async (subject: string, roles: string, permission: string) =>
      (
        await platform.request(
          'GET',
          `/platform/authz/explain?subject=${subject}&roles=${roles}&actor=assistant-bot&permission=${permission}`,
          { token: await platform.userToken('alice') },
        )
      ).body;
    expect(await explain('carol', 'analyst', 'analytics:events:read')).toMatchObject({
      decision: 'allow',
      actor: 'assistant-bot',
      actorGrantedBy: [{ scope: 'analytics:events:read' }],
    });
    expect(await explain('carol', 'analyst', 'billing:invoices:read')).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_permission',
    });
    expect(await explain('alice', 'admin', 'analytics:events:write')).toMatchObject({
      decision: 'deny',
      reason: 'insufficient_scope',
      grantedScopes: ['analytics:events:read', 'analytics:usage:read'],
    });
    // The request log line names the actors too.
    const line = platform.logLines().find((l) => l.requestId === counts.requestId);
    expect(line).toMatchObject({ subject: 'carol', clientId: 'assistant-bot', actors: ['assistant-bot'] });
  });

  it('the development provider refuses what an agent may not ask for', async () => {
    const carol = await platform.userToken('carol');
    // A scope outside the agent's allowance, a user of another tenant, a machine's own token, a client that is no agent.
    await expect(
      delegatedToken(platform.issuer, carol, ASSISTANT, platform.audience, ['billing:invoices:read']),
    ).rejects.toThrow(/invalid_scope/);
    await expect(
      delegatedToken(platform.issuer, await platform.userToken('dave'), ASSISTANT, platform.audience),
    ).rejects.toThrow(/invalid_grant/);
    await expect(
      delegatedToken(platform.issuer, await platform.clientToken('ingest-bot'), ASSISTANT, platform.audience),
    ).rejects.toThrow(/invalid_grant/);
    const ingest = DEV_MACHINE_CLIENTS.find((c) => c.clientId === 'ingest-bot') as {
      clientId: string;
      clientSecret: string;
    };
    await expect(delegatedToken(platform.issuer, carol, ingest, platform.audience)).rejects.toThrow(
      /grant type is not allowed/,
    );
  });

  it("token exchange and DPoP: a bound token is never exchanged into a bearer one; a proof at the exchange binds the delegated token; it never outlives the user's", async () => {
    const key = await generateDpopKey();
    const carol = await platform.userToken('carol');
    const bound = await delegatedToken(platform.issuer, carol, ASSISTANT, platform.audience, undefined, { dpop: key });
    expect(claims(bound).cnf).toEqual({ jkt: expect.any(String) });
    expect(claims(bound).exp).toBeLessThanOrEqual(claims(carol).exp as number);
    const url = `${platform.url}/analytics/events/counts`;
    const ok = await platform.request('GET', '/analytics/events/counts', {
      token: bound,
      scheme: 'DPoP',
      headers: { dpop: await createDpopProof(key, 'GET', url, bound) },
    });
    expect(ok.status).toBe(200);
    expect(await platform.auditOf(ok.requestId)).toMatchObject({
      subject: 'carol',
      actors: [{ subject: 'assistant-bot' }],
      dpopBound: true,
    });
    // Exchanging the bound token (without its key) would strip the binding: refused.
    await expect(delegatedToken(platform.issuer, bound, ASSISTANT, platform.audience)).rejects.toThrow(/invalid_grant/);
    const machine = DEV_MACHINE_CLIENTS.find((c) => c.clientId === 'ingest-bot') as {
      clientId: string;
      clientSecret: string;
    };
    const boundMachine = await clientCredentialsToken(
      platform.issuer,
      { ...machine, scopes: ['analytics:events:write'] },
      platform.audience,
      { dpop: key },
    );
    await expect(delegatedToken(platform.issuer, boundMachine, ASSISTANT, platform.audience)).rejects.toThrow(
      /invalid_grant/,
    );
  });

  it('a delegation chain deeper than DELEGATION_MAX_DEPTH is refused; a deactivated agent or user stops at once', async () => {
    const once = await platform.delegatedToken('carol', 'assistant-bot');
    const twice = await delegatedToken(platform.issuer, once, ASSISTANT, platform.audience);
    expect(claims(twice).act).toEqual({
      sub: 'assistant-bot',
      client_id: 'assistant-bot',
      act: { sub: 'assistant-bot', client_id: 'assistant-bot' },
    });
    const deep = await platform.request('GET', '/analytics/events/counts', { token: twice });
    expect(deep.status).toBe(403);
    expect(deep.body.reason).toBe('delegation_too_deep');
    expect(await platform.auditOf(deep.requestId)).toMatchObject({
      reason: 'delegation_too_deep',
      actors: [{ subject: 'assistant-bot' }, { subject: 'assistant-bot' }],
      details: { depth: 2, maxDepth: 1 },
    });

    // The agent's service account, deactivated by acme's admin, stops every delegated token it holds.
    const alice = await platform.userToken('alice');
    const accounts = (await platform.request('GET', '/service-accounts', { token: alice })).body.items as {
      id: string;
      clientId: string;
    }[];
    const assistant = accounts.find((a) => a.clientId === 'assistant-bot') as { id: string };
    expect(
      (await platform.request('POST', `/service-accounts/${assistant.id}/deactivate`, { token: alice })).status,
    ).toBe(200);
    expect((await platform.request('GET', '/analytics/events/counts', { token: once })).body.reason).toBe(
      'principal_deactivated',
    );
    await platform.request('POST', `/service-accounts/${assistant.id}/reactivate`, { token: alice });
    expect((await platform.request('GET', '/analytics/events/counts', { token: once })).status).toBe(200);
  });
});

describe('delegation limits are configuration', () => {
  it('DELEGATION_MAX_DEPTH=2 accepts a chain of two agents; 0 refuses every delegated token', async () => {
    const two = await TestPlatform.start({ DELEGATION_MAX_DEPTH: '2' });
    try {
      const once = await two.delegatedToken('carol', 'assistant-bot');
      const twice = await delegatedToken(two.issuer, once, ASSISTANT, two.audience);
      expect((await two.request('GET', '/analytics/events/counts', { token: twice })).status).toBe(200);
    } finally {
      await two.close();
    }
    const none = await TestPlatform.start({ DELEGATION_MAX_DEPTH: '0' });
    try {
      const refused = await none.request('GET', '/analytics/events/counts', {
        token: await none.delegatedToken('carol', 'assistant-bot'),
      });
      expect(refused.body).toMatchObject({ status: 403, reason: 'delegation_too_deep' });
    } finally {
      await none.close();
    }
  });
});
