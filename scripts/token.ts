/**
 * Prints an access token from the running development OpenID provider, and nothing else on stdout.
 *
 *   npm run --silent token -- --user bob
 *   npm run --silent token -- --client ingest-bot
 *   npm run --silent token -- --client sa-acme-1a2b3c4d --secret S --scope analytics:events:write
 *
 * Options: --issuer URL (default http://127.0.0.1:$DEV_OIDC_PORT, port 3001), --audience AUD
 * (default $OIDC_AUDIENCE or urn:platform:api). Errors go to stderr with exit code 1.
 */
import { parseArgs } from 'node:util';
import { clientCredentialsToken, devClientToken, devUserToken, DEV_MACHINE_CLIENTS, DEV_USERS } from '@platform/dev-idp';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      client: { type: 'string' },
      secret: { type: 'string' },
      scope: { type: 'string', multiple: true },
      issuer: { type: 'string' },
      audience: { type: 'string' },
    },
  });
  const issuer = values.issuer ?? `http://127.0.0.1:${process.env.DEV_OIDC_PORT ?? '3001'}`;
  const audience = values.audience ?? process.env.OIDC_AUDIENCE?.split(',')[0] ?? 'urn:platform:api';
  if (!values.user === !values.client) {
    throw new Error(
      `give exactly one of --user (${DEV_USERS.map((u) => u.username).join(', ')}) or --client (${DEV_MACHINE_CLIENTS.map((c) => c.clientId).join(', ')})`,
    );
  }
  let token: string;
  if (values.user) token = await devUserToken(issuer, values.user, audience);
  // A registered service account: its own id and secret, and the scopes to ask for.
  else if (values.secret) token = await clientCredentialsToken(issuer, { clientId: values.client as string, clientSecret: values.secret, scopes: values.scope ?? [] }, audience);
  else token = await devClientToken(issuer, values.client as string, audience);
  process.stdout.write(`${token}\n`);
}

main().catch((err: Error) => {
  const hint = (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? ' (is the platform running? start it with npm start)' : '';
  process.stderr.write(`token: ${err.message}${hint}\n`);
  process.exit(1);
});
