import { describe, expect, it } from 'vitest';
import type { Principal } from '../principal';
import { deactivatedRoleOf, type DeactivationState } from './deactivation';

const principal = (overrides: Partial<Principal> = {}): Principal => ({
  subject: 'carol',
  type: 'user',
  tenant: 'acme',
  roles: ['analyst'],
  boundRoles: [],
  scopes: [],
  clientId: 'platform-cli',
  issuer: 'https://idp.example',
  expiresAt: 0,
  tokenId: null,
  actors: [],
  boundKeyThumbprint: null,
  claims: {},
  ...overrides,
});

/** A typed fake of the access state: deactivated identities per tenant, service accounts with their status. */
function state(deactivated: string[], accounts: Record<string, boolean> = {}): DeactivationState {
  return {
    isDeactivated: (tenant, subject) => deactivated.includes(`${tenant}/${subject}`),
    serviceAccount: (tenant, clientId) =>
      `${tenant}/${clientId}` in accounts
        ? { scopes: new Set(), active: accounts[`${tenant}/${clientId}`] }
        : undefined,
  };
}

const agentFor = (subject: string, agent = 'assistant-bot') =>
  principal({ subject, clientId: agent, actors: [{ subject: agent, clientId: agent }] });

describe('deactivatedRoleOf', () => {
  it('finds nobody when no role is deactivated', () => {
    expect(deactivatedRoleOf(state([]), agentFor('carol'))).toBeUndefined();
    expect(deactivatedRoleOf(state(['globex/assistant-bot']), agentFor('carol'))).toBeUndefined();
  });

  it('refuses a deactivated subject, whoever acts for it', () => {
    expect(deactivatedRoleOf(state(['acme/carol']), principal())).toEqual({ role: 'subject', identity: 'carol' });
    expect(deactivatedRoleOf(state(['acme/carol']), agentFor('carol'))).toEqual({ role: 'subject', identity: 'carol' });
  });

  it('refuses a token in which a deactivated agent acts, by its user entry or its service account', () => {
    expect(deactivatedRoleOf(state(['acme/assistant-bot']), agentFor('carol'))).toEqual({
      role: 'actor',
      identity: 'assistant-bot',
    });
    expect(deactivatedRoleOf(state([], { 'acme/assistant-bot': false }), agentFor('carol'))).toEqual({
      role: 'actor',
      identity: 'assistant-bot',
    });
    expect(deactivatedRoleOf(state([], { 'acme/assistant-bot': true }), agentFor('carol'))).toBeUndefined();
  });

  it('checks every actor of a chain, the prior ones included, and an actor named by client id only', () => {
    const chain = principal({
      clientId: 'outer',
      actors: [
        { subject: 'outer', clientId: 'outer' },
        { subject: 'inner-sub', clientId: 'inner' },
      ],
    });
    expect(deactivatedRoleOf(state(['acme/inner']), chain)).toEqual({ role: 'actor', identity: 'inner' });
    expect(deactivatedRoleOf(state(['acme/inner-sub']), chain)).toEqual({ role: 'actor', identity: 'inner-sub' });
    expect(deactivatedRoleOf(state([], { 'acme/inner': false }), chain)).toEqual({ role: 'actor', identity: 'inner' });
  });

  it('refuses the presenting client of a delegated token when it differs from the actor', () => {
    const token = principal({ clientId: 'agent-app', actors: [{ subject: 'agent-user', clientId: null }] });
    expect(deactivatedRoleOf(state(['acme/agent-app']), token)).toEqual({ role: 'client', identity: 'agent-app' });
    expect(deactivatedRoleOf(state([], { 'acme/agent-app': false }), token)).toEqual({
      role: 'client',
      identity: 'agent-app',
    });
  });

  it('refuses a machine whose client id (not its subject) is deactivated; leaves a person\u2019s sign-in app alone', () => {
    const machine = principal({ type: 'service', subject: 'object-id-1', clientId: 'nightly-import', roles: [] });
    expect(deactivatedRoleOf(state(['acme/nightly-import']), machine)).toEqual({
      role: 'client',
      identity: 'nightly-import',
    });
    expect(
      deactivatedRoleOf(state(['acme/platform-cli'], { 'acme/platform-cli': false }), principal()),
    ).toBeUndefined();
  });

  it('a principal outside any tenant is refused when deactivated in any tenant (the state answers for tenant null)', () => {
    const fake: DeactivationState = {
      isDeactivated: (tenant, subject) => tenant === null && subject === 'assistant-bot',
      serviceAccount: () => undefined,
    };
    expect(deactivatedRoleOf(fake, { ...agentFor('olivia'), tenant: null })).toEqual({
      role: 'actor',
      identity: 'assistant-bot',
    });
  });
});
