import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { AuditWriter, registerAuditHooks, type RequestTracker } from '@platform/audit';
import { RouteInventory } from '@platform/auth';
import { parsePlatformConfig, type PlatformConfigValues } from '@platform/config';
import { startDevOidcProvider, type DevOidcProvider } from '@platform/dev-idp';
import { AppRouter, createRootLogger, problemType, PROBLEM_CONTENT_TYPE, registerJsonBodyParser, REQUEST_ID_HEADER, requestIdFrom, titleFor } from '@platform/http';
import { AppModule } from './app.module';
import { FEATURE_APPS, PLATFORM_APP } from './feature-apps';

/** Options of {@link startPlatform}. */
export interface StartOptions {
  /** Environment variables to read the configuration from (default: `process.env`). */
  env?: Record<string, string | undefined>;
  /** Where JSON log lines go (default: asynchronous stdout). Tests pass a stream to inspect them. */
  logDestination?: DestinationStream;
  /** More Nest modules to mount beside the feature apps (embedding, test fixtures). */
  modules?: Type[];
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
  const logger = createRootLogger(config.logLevel, options.logDestination);
  let devIdp: DevOidcProvider | undefined;
  if (!config.oidc.issuer) {
    devIdp = await startDevOidcProvider({ port: config.devIdp.port, audience: config.oidc.audiences[0], dataDir: config.dataDir });
    config = { ...config, oidc: { ...config.oidc, issuer: devIdp.issuer } };
    logger.warn({ issuer: devIdp.issuer, audience: config.oidc.audiences[0] }, 'Development OpenID provider started (never use it in production)');
  }

  let app: NestFastifyApplication | undefined;
  try {
    let trackRequest: RequestTracker | undefined;
    const adapter = new FastifyAdapter({
      // No Fastify logger (and so no child logger per request): the audit hook writes the one
      // line per request through the root logger.
      logger: false,
      genReqId: requestIdFrom,
      bodyLimit: config.bodyLimitBytes,
      // During a graceful close, requests already on open connections are served (and audited)
      // rather than answered 503 outside the audit hooks; new connections are refused.
      return503OnClosing: false,
      // Fastify answers a malformed URL before any hook: give it the same problem body and audit record.
      frameworkErrors: (_error: Error, request: FastifyRequest, reply: FastifyReply) => {
        request.platform = { startedAt: process.hrtime.bigint(), errorReason: 'malformed_url' };
        trackRequest?.(request, reply);
        void reply
          .code(400)
          .header(REQUEST_ID_HEADER, request.id)
          .header('content-type', PROBLEM_CONTENT_TYPE)
          .send({ type: problemType('malformed_url'), title: titleFor(400), status: 400, detail: 'The request URL is malformed.', reason: 'malformed_url', requestId: request.id });
      },
    });
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger, options.modules), adapter, {
      bufferLogs: true,
      // The platform registers its own JSON parser (registerJsonBodyParser) for clear errors.
      bodyParser: false,
    });
    app.useLogger(app.get(Logger));
    if (!options.allowRoutesWithoutPolicy) app.get(RouteInventory).assertEveryRouteHasPolicy();
    registerJsonBodyParser(app.getHttpAdapter().getInstance());
    trackRequest = registerAuditHooks(app.getHttpAdapter().getInstance(), app.get(AuditWriter), logger, new AppRouter([...FEATURE_APPS.map((a) => a.manifest), PLATFORM_APP]));
    await app.listen(config.port, config.host);
    const address = app.getHttpServer().address() as AddressInfo;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const url = `http://${host}:${address.port}`;
    logger.info({ url, issuer: config.oidc.issuer, database: config.databaseUrl ? 'postgres' : 'pglite' }, 'Platform listening');
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
          await started.close();
          await devIdp?.close();
          logger.flush();
        })()),
    };
  } catch (err) {
    // Nothing half-started is left behind: database connection, dev provider.
    await app?.close().catch(() => undefined);
    await devIdp?.close();
    throw err;
  }
}
