import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '@platform/auth';
import { PlatformConfig } from '@platform/config';
import { ResourceNotFoundError } from '@platform/http';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets';
import { consoleSecurityHeaders } from './console-security';

/** What the console's script needs to sign in: the issuer it discovers, its client id, the API audience. */
export interface ConsoleSettings {
  issuer: string;
  clientId: string;
  audience: string;
}

/**
 * Serves the operator console at `/console`: a static page and its scripts, public like any
 * sign-in page (they hold no data; every piece of data comes from the API with the signed-in
 * person's token). Each answer carries the console's own security headers.
 */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  private readonly assets: Map<string, ConsoleAsset> = loadConsoleAssets();
  private readonly headers: Record<string, string>;

  constructor(private readonly config: PlatformConfig) {
    this.headers = consoleSecurityHeaders(config.oidc.issuer as string);
  }

  /** The page itself (also the sign-in callback: `/console?code=...&state=...`). */
  @Get()
  @Public()
  index(@Res() reply: FastifyReply): void {
    this.send(reply, 'index.html');
  }

  @Get('settings.json')
  @Public()
  settings(@Res() reply: FastifyReply): void {
    const body: ConsoleSettings = {
      issuer: this.config.oidc.issuer as string,
      clientId: this.config.consoleClientId,
      audience: this.config.oidc.audiences[0],
    };
    void reply.headers(this.headers).type('application/json').send(body);
  }

  /** A script, style sheet or image of the console, by name. */
  @Get('assets/:folder/:name')
  @Public()
  asset(@Param('folder') folder: string, @Param('name') name: string, @Res() reply: FastifyReply): void {
    this.send(reply, `assets/${folder}/${name}`);
  }

  private send(reply: FastifyReply, key: string): void {
    const asset = this.assets.get(key);
    if (!asset) throw new ResourceNotFoundError('console_asset_not_found', 'No such console file.');
    void reply.headers(this.headers).type(asset.contentType).send(asset.body);
  }
}
