import { Controller, Get, Post } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import * as path from 'node:path';
import { Authenticated, AuthModule, CurrentPrincipal, RequirePermissions, type Principal } from '@platform/auth';
import { parsePlatformConfig, PlatformConfigModule } from '@platform/config';
import { ObservabilityModule } from '@platform/observability';
import { RedisModule } from '@platform/redis';
import { ProblemFilter, requestState } from '@platform/http';

@Controller()
class ProbeController {
  @Get('whoami')
  @Authenticated({ tenant: 'optional' })
  whoami(@CurrentPrincipal() principal: Principal) {
    const {
      claims: _claims,
      expiresAt: _exp,
      tokenId: _jti,
      issuer: _iss,
      boundRoles: _bound,
      actors,
      boundKeyThumbprint,
      ...shape
    } = principal;
    // Shown only when the token has them: the provider fixtures describe tokens without delegation or binding.
    return {
      ...shape,
      ...(actors.length > 0 && { actors }),
      ...(boundKeyThumbprint !== null && { boundKeyThumbprint }),
    };
  }

  @Post('billing/invoices')
  @RequirePermissions('billing:invoices:write', { tenant: 'optional' })
  createInvoice() {
    return { ok: true };
  }

  @Post('billing/payments')
  @RequirePermissions('billing:payments:write', { tenant: 'optional' })
  pay() {
    return { ok: true };
  }

  @Get('users/admin/list')
  @RequirePermissions('users:admin:list', { tenant: 'optional' })
  adminList() {
    return { ok: true };
  }

  @Get('billing/settings')
  @RequirePermissions('billing:settings:manage', { tenant: 'optional' })
  settings() {
    return { ok: true };
  }
}

/** A response with the decision the guard recorded. */
export interface ProbeResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON body of any route: each test asserts the shape it reads
  body: any;
  headers: Headers;
}

/**
 * Only the auth library (real passport-jwt strategy, key store, claim mapper, policy, guard) in a
 * small Nest app on Fastify over real HTTP, with fixture routes: for the identity-provider preset
 * suites, where a database adds nothing.
 */
export class AuthTestApp {
  private constructor(
    private readonly app: NestFastifyApplication,
    readonly url: string,
  ) {}

  static async start(env: Record<string, string>): Promise<AuthTestApp> {
    const config = parsePlatformConfig({
      NODE_ENV: 'test',
      POLICY_FILE: path.resolve(__dirname, '../fixtures/policy.test.yaml'),
      OIDC_JWKS_REFETCH_INTERVAL_SECONDS: '0',
      // No database here, so no service accounts: machines get their token's scopes.
      SERVICE_ACCOUNTS_REQUIRED: 'false',
      RATE_LIMITS_FILE: path.resolve(__dirname, '../fixtures/rate-limits.test.yaml'),
      ...env,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformConfigModule.forRoot(config), ObservabilityModule, RedisModule, AuthModule],
      controllers: [ProbeController],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRequest', (request, _reply, done) => {
        requestState(request);
        done();
      });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address() as { port: number };
    return new AuthTestApp(app, `http://127.0.0.1:${address.port}`);
  }

  async call(method: string, pathname: string, token?: string): Promise<ProbeResponse> {
    const response = await fetch(`${this.url}${pathname}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  }

  close(): Promise<void> {
    return this.app.close();
  }
}
