import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { IssuerRegistry, Public, type TrustedIssuer } from '@platform/auth';
import { DatabaseService } from '@platform/database';
import { ProblemException } from '@platform/http';

/** Liveness and readiness probes (public). */
@Controller('health')
// Liveness and readiness probes are never rate limited: a 429 would look like a dead instance.
@Public({ rateLimited: false })
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseService,
    private readonly issuers: IssuerRegistry,
  ) {}

  /** The process is up and serving. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** The database answers and the issuer's JWKS is loaded and fits the configuration: 503 with each check (and a misconfiguration's cause) otherwise. */
  @Get('ready')
  @HealthCheck()
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        async () => {
          const check = this.indicators.check('database');
          return this.database.ping().then(
            () => check.up({ driver: this.database.driver }),
            () => check.down({ driver: this.database.driver }),
          );
        },
        async () => {
          const check = this.indicators.check('issuer');
          // Every trusted issuer, each with its own keys: the first that fails is named, and the list of all that do.
          const states = await Promise.all(this.issuers.issuers.map((trusted) => issuerState(trusted)));
          const failing = states.filter((s) => s.down);
          if (failing.length === 0) return check.up({ issuers: states.length });
          return check.down({
            ...failing[0].details,
            issuer: failing[0].issuer,
            failing: failing.map((s) => s.issuer),
          });
        },
      ]);
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        throw new ProblemException(
          503,
          'not_ready',
          'A dependency of the platform is unavailable.',
          { 'retry-after': '5' },
          {
            checks: (err.getResponse() as { details?: unknown }).details,
          },
        );
      }
      throw err;
    }
  }
}

/** Readiness of one issuer: its keys loaded and fitting the configuration (a misconfiguration named with expected and found). */
async function issuerState(
  trusted: TrustedIssuer,
): Promise<{ issuer: string; down: boolean; details: Record<string, string> }> {
  const keys = trusted.keys;
  if (!keys.isReady() || keys.misconfigured()) await keys.reload().catch(() => undefined);
  const misconfigured = keys.misconfigured();
  const issuer = trusted.config.issuer;
  if (misconfigured)
    return { issuer, down: true, details: { message: misconfigured.message, ...misconfigured.toJSON() } };
  return keys.isReady()
    ? { issuer, down: false, details: {} }
    : { issuer, down: true, details: { message: 'JWKS not loaded' } };
}
