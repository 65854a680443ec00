import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '@platform/auth';
import { SecretsService, type SecretDescription } from '@platform/secrets';

/** The secrets in use, for operators: never a value. */
@ApiTags('platform')
@Controller('platform/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @ApiOperation({ summary: 'Every secret: name, source, version (a hash prefix), last rotation, previous version still accepted, consumers; never a value' })
  @RequirePermissions('platform:secrets:read', { tenant: 'optional' })
  list(): { items: SecretDescription[] } {
    return { items: this.secrets.describe() };
  }
}
