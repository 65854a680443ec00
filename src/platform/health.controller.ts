import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { IssuerKeyStore, Public } from '@platform/auth';
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
    private readonly keys: IssuerKeyStore,
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
          if (!this.keys.isReady() || this.keys.misconfigured()) await this.keys.reload().catch(() => undefined);
          // A misconfiguration is named (expected and found), so an operator sees it is not an outage.
          const misconfigured = this.keys.misconfigured();
          if (misconfigured) return check.down({ message: misconfigured.message, ...misconfigured.toJSON() });
          return this.keys.isReady() ? check.up() : check.down({ message: 'JWKS not loaded' });
        },
      ]);
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        throw new ProblemException(503, 'not_ready', 'A dependency of the platform is unavailable.', { 'retry-after': '5' }, {
          checks: (err.getResponse() as { details?: unknown }).details,
        });
      }
      throw err;
    }
  }
}
