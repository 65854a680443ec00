/**
 * `recipe`: the reference NestJS app a team would build from the NestJS documentation (Express
 * adapter, @nestjs/passport + passport-jwt with jwks-rsa, a roles guard, an interceptor that logs
 * each request). Benchmark only: never imported by the product.
 */
import 'reflect-metadata';
import {
  CallHandler,
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  Logger,
  Module,
  NestInterceptor,
  Param,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory, Reflector } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { passportJwtSecret } from 'jwks-rsa';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { tap, type Observable } from 'rxjs';

@Injectable()
class JwtStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: passportJwtSecret({
        cache: true,
        rateLimit: true,
        jwksRequestsPerMinute: 10,
        jwksUri: process.env.JWKS_URI as string,
      }),
      audience: process.env.AUDIENCE,
      issuer: process.env.ISSUER,
      algorithms: ['RS256'],
    });
  }

  validate(payload: { sub: string; roles?: string[] }) {
    return { userId: payload.sub, roles: payload.roles ?? [] };
  }
}

const Roles = (...roles: string[]) => SetMetadata('roles', roles);

@Injectable()
class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<string[]>('roles', [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const { user } = context.switchToHttp().getRequest<{ user: { roles: string[] } }>();
    return roles.some((role) => user.roles.includes(role));
  }
}

@Injectable()
class LoggingInterceptor implements NestInterceptor {
  private readonly logger = new Logger('HTTP');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<{ method: string; url: string }>();
    const started = Date.now();
    return next.handle().pipe(tap(() => this.logger.log(`${request.method} ${request.url} ${Date.now() - started}ms`)));
  }
}

@Controller('items')
@UseGuards(AuthGuard('jwt'), RolesGuard)
class ItemsController {
  @Get(':id')
  @Roles('admin')
  get(@Param('id') id: string) {
    return { id, name: 'item', total: 3750 };
  }
}

@Module({
  imports: [PassportModule],
  controllers: [ItemsController],
  providers: [JwtStrategy, { provide: APP_INTERCEPTOR, useClass: LoggingInterceptor }],
})
class RecipeModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(RecipeModule);
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  // Event-loop delay for the runner (over IPC, never over HTTP), measured as prom-client does it.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.on('message', (m) => {
    if (m !== 'eventloop') return;
    process.send?.({ eventloopP99Ms: delay.percentile(99) / 1e6 });
    delay.reset();
  });
  process.send?.({
    ready: ((app.getHttpServer() as import('node:http').Server).address() as import('node:net').AddressInfo).port,
  });
}

void main();
