import { createHash } from 'node:crypto';
import { DEV_USERS, type DevUser } from './seed';

const NAME = '[a-z0-9][a-z0-9-]{0,62}';
const PROFILE = new RegExp(`^profile:(${NAME})?:(${NAME}(?:,${NAME})*)?$`);

/**
 * The username of a test profile: a person of `tenant` (null: none) holding exactly `roles`, e.g.
 * `profile:e2e-1a2b:billing-manager,analyst`. The development provider signs such a user in like
 * a seeded one, so that tests (the access-conformance suite, remote runs in their own tenant) get
 * real tokens for any role profile. This grants nothing the development provider does not already
 * hand out without a password (any seeded user, admins and the platform operator included), and
 * the provider never runs in production.
 *
 * @throws Error for a tenant or role that is not lower-case letters, digits and dashes
 */
export function profileUsername(tenant: string | null, roles: readonly string[]): string {
  const name = `profile:${tenant ?? ''}:${roles.join(',')}`;
  if (!PROFILE.test(name))
    throw new Error(
      `invalid test profile ${JSON.stringify(name)}: tenant and roles are lower-case letters, digits and dashes`,
    );
  return name;
}

/** A seeded user, or the test profile a `profile:<tenant>:<roles>` username describes; undefined otherwise. */
export function findDevUser(username: string): DevUser | undefined {
  const seeded = DEV_USERS.find((u) => u.username === username);
  if (seeded) return seeded;
  const match = PROFILE.exec(username);
  if (!match) return undefined;
  const roles = match[2] ? match[2].split(',') : [];
  const id = createHash('sha256').update(username).digest('hex').slice(0, 12);
  return {
    username,
    tenant: match[1] ?? null,
    roles,
    name: `Test profile ${id}`,
    email: `profile-${id}@profiles.test`,
  };
}
