import { Module } from '@nestjs/common';
import { AccessMapController } from './access-map.controller';
import { ConsoleAuditRepository } from './console-audit.repository';
import { ConsoleController } from './console.controller';
import { RefusalsController } from './refusals.controller';
import { RefusalsService } from './refusals.service';

/** The operator console (`/console`) and the read-only platform endpoints it adds (access map, caller, refusals, record detail). */
@Module({
  controllers: [ConsoleController, AccessMapController, RefusalsController],
  providers: [ConsoleAuditRepository, RefusalsService],
})
export class ConsoleModule {}
