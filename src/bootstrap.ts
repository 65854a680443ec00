import { createPrivateKey, randomBytes } from 'node:crypto';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger, Logger as NestPinoLogger, PinoLogger } from 'nestjs-pino';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { AuditWriter, registerAuditHooks, type RequestTracker } from '@platform/audit';
import { AccessStateService, MachineClientRegistrar, RouteInventory } from '@platform/auth';
import { parsePlatformConfig, type PlatformConfigValues } from '@platform/config';
import {
  DEV_MACHINE_CLIENTS,
  devClientSecretName,
  startDevOidcProvider,
  type DevOidcProvider,
} from '@platform/dev-idp';
import { PlatformMetrics, traceContextFrom } from '@platform/observability';
import {
  baselineSecurityHeaders,
  DOCS_OAUTH_REDIRECT_PATH,
  problemType,
  PROBLEM_CONTENT_TYPE,
  registerInputHygiene,
  registerJsonBodyParser,
  registerSecurityHeaders,
  REQUEST_ID_HEADER,
  requestIdFrom,
  titleFor,
} from '@platform/http';
import { createRootLogger, flushLogger } from '@platform/logging';
import { AppRegistry, type FeatureApp } from '@platform/feature-apps';
import { minLength, pem, SecretsService, type SecretDefinition } from '@platform/secrets';
import { AppModule } from './app.module';
import { closeConnectionsOnShutdown } from './platform/close-connections-on-shutdown';
import openApiMetadata from './openapi-metadata';
import { enabledApps, FEATURE_APPS, resourceScopesOf } from './feature-apps';
import { devSignInUiOptions, withDevSignIn } from './start/openapi-sign-in';
import { explainPortInUse } from './start/port-in-use';
import { logStartSummary, quietStartupLogger, startSummary } from './start/start-log';

/**
 * Serves the OpenAPI document (built from the same decorators the guard reads: each protected
 * operation carries a bearer security requirement and `x-required-permissions`) at
 * `/docs/openapi.json`, and Swagger UI at `/docs`. Both public.
 */
async function publishOpenApi(
  app: NestFastifyApplication,
  signIn: { devIssuer?: string; issuer?: string; audience: string },
): Promise<void> {
  // DTO schemas and operation descriptions, generated from the sources (npm run openapi:metadata).
  await SwaggerModule.loadPluginMetadata(openApiMetadata);
  const config = new DocumentBuilder()
    .setTitle('Identity-aware platform')
    .setDescription(
      'Every feature app behind one OpenID Connect authentication, one policy and one audit trail. Errors are RFC 9457 problem+json.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  SwaggerModule.setup(
    'docs',
    app,
    () => withDevSignIn(SwaggerModule.createDocument(app, config), signIn.devIssuer, signIn.issuer),
    {
      jsonDocumentUrl: 'docs/openapi.json',
      yamlDocumentUrl: 'docs/openapi.yaml',
      ...(signIn.devIssuer && { swaggerOptions: devSignInUiOptions(signIn.audience) }),
    },
  );
  if (signIn.devIssuer) forwardOAuthRedirect(app);
}

/**
 * Swagger UI opened at `/docs` (no trailing slash) computes its sign-in callback one level up, as
 * `/oauth2-redirect.html`; the page that completes the sign-in is served at
 * `/docs/oauth2-redirect.html`. This forwards the callback there, query (code, state) included,
 * on the same origin, so the popup can hand the code back to the page that opened it.
 */
function forwardOAuthRedirect(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .get(DOCS_OAUTH_REDIRECT_PATH, (request, reply) => {
      const query = request.url.indexOf('?');
      void reply.redirect(`/docs/oauth2-redirect.html${query === -1 ? '' : request.url.slice(query)}`, 302);
    });
}

/** Service accounts are created at the development provider at once (client id and a secret shown once). */
function devClientRegistrar(devIdp: DevOidcProvider): MachineClientRegistrar {
  return {
    issuesClients: true,
    create: async (tenant, scopes) => {
      const client = {
        clientId: `sa-${tenant}-${randomBytes(4).toString('hex')}`,
        clientSecret: randomBytes(24).toString('base64url'),
      };
      await devIdp.registerClient({ ...client, tenant, scopes });
      return client;
    },
  };
}

/** The development provider's seeded machines of a tenant are registered service accounts, as an admin would do. */
async function seedDevServiceAccounts(access: AccessStateService): Promise<void> {
  for (const client of DEV_MACHINE_CLIENTS) {
    if (client.tenant === null) continue;
    await access.seedServiceAccount({
      tenant: client.tenant,
      clientId: client.clientId,
      name: client.clientId,
      scopes: client.grantedScopes ?? client.scopes,
      createdBy: 'development-seed',
    });
  }
}

/**
 * The development provider's signing key, when given as a secret (a PEM file under SECRETS_DIR,
 * or DEV_IDP_SIGNING_KEY_FILE); without it the provider keeps the key it generated in DATA_DIR.
 */
const DEV_IDP_SIGNING_KEY: SecretDefinition = {
  name: 'dev-idp-signing-key',
  description: "The development OpenID provider's RS256 signing key",
  validate: (value) =>
    pem('PRIVATE KEY')(value) ??
    (isRsaPrivateKey(value) ? undefined : 'must be an RSA private key (the provider signs RS256)'),
  consumers: ['development OpenID provider: access token signatures'],
  optional: true,
};

function isRsaPrivateKey(pemText: string): boolean {
  try {
    return createPrivateKey(pemText).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/** The seeded machine clients' secrets: public development values unless given as secrets. */
const DEV_CLIENT_SECRETS: SecretDefinition[] = DEV_MACHINE_CLIENTS.map((client) => ({
  name: devClientSecretName(client.clientId),
  description: `Client secret of the development provider's seeded machine client ${client.clientId}`,
  validate: minLength(16),
  consumers: ['development OpenID provider: client authentication', 'npm run token -- --client'],
  developmentDefault: client.clientSecret,
}));

/** The development provider signs with the secret key and authenticates seeded clients with the secret values, following their rotations. */
async function followDevSecrets(devIdp: DevOidcProvider, secrets: SecretsService): Promise<void> {
  const apply = async (name: string) => {
    if (name === DEV_IDP_SIGNING_KEY.name) devIdp.rotateSigningKey(secrets.get(name));
    const client = DEV_MACHINE_CLIENTS.find((c) => devClientSecretName(c.clientId) === name);
    if (client) await devIdp.setSeededClientSecret(client.clientId, secrets.get(name));
  };
  for (const name of [DEV_IDP_SIGNING_KEY.name, ...DEV_CLIENT_SECRETS.map((s) => s.name)])
    if (secrets.has(name)) await apply(name);
  secrets.onChange((name, change) => {
    if (change === 'rotated')
      void apply(name).catch((err: Error) =>
        new NestLogger('DevOidcProvider').error(
          { err, secretName: name },
          'Development provider could not apply a rotated secret',
        ),
      );
  });
}

/** Options of {@link startPlatform}. */
export interface StartOptions {
  /** Environment variables to read the configuration from (default: `process.env`). */
  env?: Record<string, string | undefined>;
  /** Where JSON log lines go (default: asynchronous stdout). Tests pass a stream to inspect them. */
  logDestination?: DestinationStream;
  /** More feature apps to serve beside the product's (embedding, test fixtures). */
  apps?: FeatureApp[];
  /**
   * Tests only: start even when a route declares no policy, to prove the guard still refuses it
   * at request time. The platform itself never starts that way.
   */
  allowRoutesWithoutPolicy?: boolean;
}

/** A running platform process. */
export interface RunningPlatform {
  app: NestFastifyApplication;
  /** Base URL of the API, e.g. `http://127.0.0.1:3000`. */
  url: string;
  config: PlatformConfigValues;
  /** The development provider, when no `OIDC_ISSUER` was configured. */
  devIdp?: DevOidcProvider;
  /** Graceful stop: no new connections, in-flight requests finish, the audit trail is flushed, then the database closes. */
  close(): Promise<void>;
}

/**
 * Starts the whole platform: validates the configuration, starts the development OpenID provider
 * when no issuer is configured, builds the Nest application on Fastify, and listens.
 *
 * @throws ConfigError for invalid configuration; Error when the database cannot be opened
 */
export async function startPlatform(options: StartOptions = {}): Promise<RunningPlatform> {
  let config = parsePlatformConfig(options.env ?? process.env);
  const pretty =
    config.logFormat === 'pretty' ||
    (config.logFormat === 'auto' && config.env === 'development' && process.stdout.isTTY === true);
  const logger = createRootLogger(config.logLevel, options.logDestination, pretty);
  let devIdp: DevOidcProvider | undefined;
  if (!config.oidc.issuer) {
    const resourceScopes = resourceScopesOf([...FEATURE_APPS, ...(options.apps ?? [])]);
    devIdp = await explainPortInUse('DEV_OIDC_PORT', '127.0.0.1', config.devIdp.port, () =>
      startDevOidcProvider({
        port: config.devIdp.port,
        audience: config.oidc.audiences[0],
        dataDir: config.dataDir,
        resourceScopes,
      }),
    );
    config = {
      ...config,
      oidc: { ...config.oidc, issuer: devIdp.issuer },
      issuers: [{ ...config.oidc, issuer: devIdp.issuer }],
    };
    logger.warn(
      { issuer: devIdp.issuer, audience: config.oidc.audiences[0] },
      'Development OpenID provider started (never use it in production)',
    );
  }

  let app: NestFastifyApplication | undefined;
  try {
    const apps = [...enabledApps(FEATURE_APPS, config.enabledApps), ...(options.apps ?? [])];
    let trackRequest: RequestTracker | undefined;
    const adapter = new FastifyAdapter({
      // No Fastify logger (and so no child logger per request): the audit hook writes the one
      // line per request through the root logger.
      logger: false,
      genReqId: requestIdFrom,
      // Which proxies' X-Forwarded-* headers are believed (client address for anonymous rate
      // limits, scheme and host for DPoP's htu): none unless TRUST_PROXY names them.
      trustProxy: trustedProxies(config.trustProxy),
      bodyLimit: config.bodyLimitBytes,
      // During a graceful close, requests already on open connections are served (and audited)
      // rather than answered 503 outside the audit hooks; new connections are refused.
      return503OnClosing: false,
      // Fastify answers a malformed URL before any hook: give it the same problem body and audit record.
      frameworkErrors: (_error: Error, request: FastifyRequest, reply: FastifyReply) => {
        request.platform = {
          startedAt: process.hrtime.bigint(),
          errorReason: 'malformed_url',
          trace: traceContextFrom(request.headers.traceparent),
        };
        trackRequest?.(request, reply);
        void reply
          .code(400)
          .headers(baselineSecurityHeaders(config.dpop.publicOrigin))
          .header(REQUEST_ID_HEADER, request.id)
          .header('content-type', PROBLEM_CONTENT_TYPE)
          .send({
            type: problemType('malformed_url'),
            title: titleFor(400),
            status: 400,
            detail: 'The request URL is malformed.',
            reason: 'malformed_url',
            requestId: request.id,
          });
      },
    });
    const registrar = devIdp ? devClientRegistrar(devIdp) : undefined;
    const extraSecrets = devIdp ? [DEV_IDP_SIGNING_KEY, ...DEV_CLIENT_SECRETS] : [];
    app = await NestFactory.create<NestFastifyApplication>(
      AppModule.forRoot(
        config,
        logger,
        apps,
        [...FEATURE_APPS, ...(options.apps ?? [])],
        registrar,
        options.env ?? process.env,
        extraSecrets,
      ),
      adapter,
      {
        // Nest's own start-up lines go to the platform's JSON logger from the first line on, and a
        // failing start rejects here (no stack trace printed, no process.exit inside Nest).
        // Module and route-mapping lines at debug: the start log at info stays short.
        logger: quietStartupLogger(new NestPinoLogger(new PinoLogger({ pinoHttp: { logger } }), {})),
        abortOnError: false,
        // The platform registers its own JSON parser (registerJsonBodyParser) for clear errors.
        bodyParser: false,
      },
    );
    app.useLogger(quietStartupLogger(app.get(Logger)));
    app.get(RouteInventory).assertRoutesCovered({ allowMissingPolicy: options.allowRoutesWithoutPolicy });
    if (devIdp) {
      await seedDevServiceAccounts(app.get(AccessStateService));
      await followDevSecrets(devIdp, app.get(SecretsService));
    }
    registerJsonBodyParser(app.getHttpAdapter().getInstance());
    // NUL, lone surrogates, out-of-range instants and excessive nesting: 400 before any guard or handler.
    registerInputHygiene(app.getHttpAdapter().getInstance());
    await publishOpenApi(app, {
      devIssuer: devIdp?.issuer,
      issuer: config.oidc.issuer,
      audience: config.oidc.audiences[0],
    });
    trackRequest = registerAuditHooks(
      app.getHttpAdapter().getInstance(),
      app.get(AuditWriter),
      logger,
      app.get(AppRegistry),
      app.get(PlatformMetrics),
      {
        durability: config.audit.durability,
        // One database write (bounded by AUDIT_WRITE_TIMEOUT_MS), then time for the journal's fsync when it fails.
        durableWithinMs: 2 * config.audit.writeTimeoutMs,
      },
    );
    // After the audit hooks: a refused CORS preflight is answered in onRequest and still audited.
    registerSecurityHeaders(app.getHttpAdapter().getInstance(), {
      publicOrigin: config.dpop.publicOrigin,
      corsAllowedOrigins: config.corsAllowedOrigins,
      docsConnectSources: devIdp ? [new URL(devIdp.issuer).origin] : [],
    });
    const beginClosingConnections = closeConnectionsOnShutdown(app.getHttpAdapter().getInstance());
    await explainPortInUse('PORT', config.host, config.port, () =>
      (app as NestFastifyApplication).listen(config.port, config.host),
    );
    const address = app.getHttpServer().address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host}:${address.port}`;
    logger.info(
      { url, issuer: config.oidc.issuer, database: config.databaseUrl ? 'postgres' : 'pglite' },
      'Platform listening',
    );
    logStartSummary(logger, startSummary(url, config, devIdp !== undefined));
    let closing: Promise<void> | undefined;
    const started = app;
    return {
      app: started,
      url,
      config,
      devIdp,
      // Idempotent: a second signal waits for the first close.
      close: () =>
        (closing ??= (async () => {
          logger.info('Shutting down: refusing new connections, finishing requests in flight');
          beginClosingConnections();
          await started.close();
          await devIdp?.close();
          logger.info('Stopped: audit trail flushed, database closed');
          // Buffered lines are written before the process may exit.
          await flushLogger(logger);
        })()),
    };
  } catch (err) {
    // Nothing half-started is left behind: database connection, dev provider.
    await app?.close().catch(() => undefined);
    await devIdp?.close();
    throw err;
  }
}

/**
 * Fastify's `trustProxy` for the configured proxies: addresses as they are; a hop count `n` as the
 * function trusting the `n` closest hops (Fastify 5.12 fails closed on a bare number: it would
 * trust none), the meaning proxy-addr gives a number.
 */
function trustedProxies(
  trust: false | number | string[],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== 'number') return trust;
  return (_address, hop) => hop < trust;
}
