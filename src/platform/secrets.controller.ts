import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '@platform/auth';
import { SecretsService, type SecretDescription } from '@platform/secrets';
import { PLATFORM_PERMISSIONS } from './platform-permissions';

/** The secrets in use, for operators: never a value. */
@ApiTags('platform')
@Controller('platform/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Every secret in use: name, source, version (a hash prefix), last rotation, previous version still accepted, consumers; never a value. `absent`: the optional secrets not configured',
  })
  @RequirePermissions(PLATFORM_PERMISSIONS.secretsRead, { tenant: 'optional' })
  list(): { items: SecretDescription[]; absent: { name: string; description: string; consumers: string[] }[] } {
    // Absent optional secrets are listed too, so that a missing one is visible rather than silently left out.
    return { items: this.secrets.describe(), absent: this.secrets.describeAbsent() };
  }
}
