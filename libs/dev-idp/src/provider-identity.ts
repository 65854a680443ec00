/**
 * Discovery metadata (an extension member, RFC 8414 section 2) by which the platform's development
 * provider names itself, so that the token command never sends the seeded users' sign-in or the
 * seeded clients' secrets to some other program listening on its port.
 */
export const DEV_PROVIDER_METADATA = 'platform_development_provider';

/** The value of {@link DEV_PROVIDER_METADATA} in this platform's development provider. */
export const DEV_PROVIDER_ID = 'identity-platform';

/**
 * Checks that `issuer` is this platform's development provider: its discovery document answers and
 * carries {@link DEV_PROVIDER_METADATA}.
 *
 * @throws Error saying what answered instead and what to do; a connection failure passes through (fetch's error, with its `cause.code`)
 */
export async function assertPlatformDevProvider(issuer: string): Promise<void> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { redirect: 'manual' });
  let what: string;
  if (!response.ok) what = `${url} answered ${response.status}`;
  else {
    const metadata = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (metadata?.[DEV_PROVIDER_METADATA] === DEV_PROVIDER_ID) return;
    what = metadata
      ? `its discovery document (issuer ${JSON.stringify(metadata.issuer ?? null)}) does not name this platform`
      : `${url} is not a JSON discovery document`;
  }
  throw new Error(
    `${issuer} is not this platform's development provider: ${what}. ` +
      'Start the platform (npm start) and point the command at its provider (DEV_OIDC_PORT, or --issuer); ' +
      'with an external identity provider, get tokens from that provider instead.',
  );
}
