/**
 * Prints an access token from the running development OpenID provider, and nothing else on stdout.
 *
 *   npm run --silent token -- --user bob
 *   npm run --silent token -- --user carol --actor assistant-bot   (an agent acting for carol, RFC 8693)
 *   npm run --silent token -- --user carol --actor assistant-bot --scope analytics:events:read
 *   npm run --silent token -- --client ingest-bot
 *   npm run --silent token -- --client sa-acme-1a2b3c4d --secret S --scope analytics:events:write
 *
 * Options: --issuer URL (default http://127.0.0.1:$DEV_OIDC_PORT, port 3001), --audience AUD
 * (default $OIDC_AUDIENCE or urn:platform:api). Exit code 0 with the token on stdout; 1 with the error
 * on stderr.
 */
import { parseArgs } from 'node:util';
import { parsePlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { SecretsService } from '@platform/secrets';
import {
  assertPlatformDevProvider,
  clientCredentialsToken,
  delegatedToken,
  devClientSecretName,
  devClientToken,
  devUserToken,
  DEV_MACHINE_CLIENTS,
  DEV_USERS,
} from '@platform/dev-idp';
import { exitWithHelpIfAsked } from './lib/help';

exitWithHelpIfAsked(__filename);

/**
 * A seeded client's token with its current secret: the platform's `dev-client-<id>-secret` when
 * one is given (SECRETS_DIR, *_FILE or the variable, as the platform reads it), else the public
 * development value.
 */
async function seededClientToken(issuer: string, clientId: string, audience: string): Promise<string> {
  const client = DEV_MACHINE_CLIENTS.find((c) => c.clientId === clientId);
  if (!client) return devClientToken(issuer, clientId, audience);
  return clientCredentialsToken(
    issuer,
    { clientId, clientSecret: seededClientSecret(clientId, client.clientSecret), scopes: client.scopes },
    audience,
  );
}

/** A seeded client's current secret, read the way the platform reads it (same sources, same order). */
function seededClientSecret(clientId: string, developmentDefault: string): string {
  const name = devClientSecretName(clientId);
  const config = parsePlatformConfig(process.env);
  const secrets = new SecretsService(
    [{ name, description: name, validate: () => undefined, consumers: [], developmentDefault }],
    process.env,
    config,
    new PlatformMetrics(),
  );
  const secret = secrets.get(name);
  secrets.onModuleDestroy();
  return secret;
}

/** A token of `user` exchanged by the seeded agent `actorId` for a delegated one (sub = user, act = agent). */
async function delegatedUserToken(
  issuer: string,
  user: string,
  actorId: string,
  audience: string,
  scopes?: string[],
): Promise<string> {
  const agent = DEV_MACHINE_CLIENTS.find((c) => c.clientId === actorId && c.agent);
  if (!agent)
    throw new Error(
      `no seeded agent "${actorId}" (seeded agents: ${DEV_MACHINE_CLIENTS.filter((c) => c.agent)
        .map((c) => c.clientId)
        .join(', ')})`,
    );
  const subjectToken = await devUserToken(issuer, user, audience);
  return delegatedToken(
    issuer,
    subjectToken,
    { clientId: actorId, clientSecret: seededClientSecret(actorId, agent.clientSecret) },
    audience,
    scopes,
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      client: { type: 'string' },
      actor: { type: 'string' },
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
  if (values.actor && !values.user) throw new Error('--actor needs --user: the agent acts for that user');
  // Seeded users and client secrets go only to this platform's own development provider.
  await assertPlatformDevProvider(issuer);
  let token: string;
  if (values.scope && !values.secret && !values.actor)
    throw new Error('--scope goes with --actor (the scopes the agent asks for) or with --client and --secret');
  if (values.user && values.actor)
    token = await delegatedUserToken(issuer, values.user, values.actor, audience, values.scope);
  else if (values.user) token = await devUserToken(issuer, values.user, audience);
  // A registered service account: its own id and secret, and the scopes to ask for.
  else if (values.secret)
    token = await clientCredentialsToken(
      issuer,
      { clientId: values.client as string, clientSecret: values.secret, scopes: values.scope ?? [] },
      audience,
    );
  else token = await seededClientToken(issuer, values.client as string, audience);
  process.stdout.write(`${token}\n`);
}

main().catch((err: Error) => {
  const hint =
    (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED'
      ? ' (is the platform running? start it with npm start)'
      : '';
  process.stderr.write(`token: ${err.message}${hint}\n`);
  process.exit(1);
});
