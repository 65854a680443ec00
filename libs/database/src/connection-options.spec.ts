import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresOptions } from './connection-options';

/** The password a node-postgres client would send for these options. */
async function passwordSent(options: ReturnType<typeof postgresOptions>): Promise<string | undefined> {
  const client = new Client(options) as unknown as { password: string | (() => string | Promise<string>) | undefined };
  return typeof client.password === 'function' ? await client.password() : client.password;
}

describe('PostgreSQL connection options', () => {
  it('asks the password function at each connection, so a rotated secret is used by the next one', async () => {
    let secret = 'first-password';
    const options = postgresOptions('postgres://app@db.internal:5433/platform?application_name=platform', () => secret);
    expect(options).toMatchObject({ host: 'db.internal', port: 5433, user: 'app', database: 'platform' });
    expect(await passwordSent(options)).toBe('first-password');
    secret = 'second-password';
    expect(await passwordSent(options)).toBe('second-password');
  });

  it("falls back to the URL's password while the secret is absent, and uses it alone without a function", async () => {
    expect(await passwordSent(postgresOptions('postgres://app:from-url@db/platform', () => undefined))).toBe(
      'from-url',
    );
    expect(await passwordSent(postgresOptions('postgres://app:from-url@db/platform'))).toBe('from-url');
    expect(await passwordSent(postgresOptions('postgres://app:from-url@db/platform', () => 'from-secret'))).toBe(
      'from-secret',
    );
  });
});
