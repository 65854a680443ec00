import { Controller, Get, Injectable, OnModuleInit, Req } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DPOP_ALGORITHMS, IssuerRegistry, Public } from '@platform/auth';
import { PlatformConfig } from '@platform/config';
import { AppRegistry } from '@platform/feature-apps';

/** RFC 9728 section 3: where a protected resource publishes its metadata. */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The origin clients address: `PUBLIC_ORIGIN` when set (required in production), else the request's. */
function originOf(config: PlatformConfig, request: FastifyRequest): string {
  return config.dpop.publicOrigin ?? `${request.protocol}://${request.host}`;
}

/**
 * RFC 9728 protected resource metadata: the resource, the issuers that may issue tokens for it,
 * the scopes machines may ask for, and how to present a token (header; DPoP-bound tokens too),
 * so that OAuth clients and agents find where to get a token without being told.
 */
@Controller()
export class ProtectedResourceController {
  constructor(
    private readonly config: PlatformConfig,
    private readonly registry: AppRegistry,
    private readonly issuers: IssuerRegistry,
  ) {}

  /** The metadata document (RFC 9728 section 2); public, JSON. */
  @Get(PROTECTED_RESOURCE_METADATA_PATH)
  @Public()
  metadata(@Req() request: FastifyRequest) {
    return {
      resource: originOf(this.config, request),
      // Every exact issuer (one per allow-listed Entra directory); the development provider's URL when it runs.
      authorization_servers: this.issuers.acceptedIssuers(),
      scopes_supported: [...new Set(this.registry.apps.flatMap((app) => app.scopes))].sort(),
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: DPOP_ALGORITHMS,
      dpop_bound_access_tokens_required: false,
      resource_name: 'Identity-aware platform API',
    };
  }
}

/**
 * RFC 9728 section 5.1: every 401 challenge (Bearer and DPoP) carries `resource_metadata`, the URL
 * of the metadata document. Added in one `onSend` hook, so no refusal path can forget it.
 */
@Injectable()
export class ResourceMetadataChallenges implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: PlatformConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    fastify.addHook('onSend', (request, reply, payload, done) => {
      const header = reply.getHeader('www-authenticate');
      if (reply.statusCode === 401 && typeof header === 'string' && !header.includes('resource_metadata=')) {
        const url = `${originOf(this.config, request)}${PROTECTED_RESOURCE_METADATA_PATH}`;
        reply.header('www-authenticate', withResourceMetadata(header, url));
      }
      done(null, payload);
    });
  }
}

/**
 * Appends `resource_metadata="url"` as the last parameter of each challenge of a WWW-Authenticate
 * value (RFC 9110 section 11.6.1 syntax: challenges and their parameters are comma-separated, a
 * new challenge starts with `scheme SP`; commas inside quoted strings are not separators).
 */
export function withResourceMetadata(header: string, url: string): string {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (c === '\\' && quoted) {
      current += c + (header[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current.trim());
  const param = `resource_metadata="${url.replace(/["\\]/g, '')}"`;
  const challenges: string[][] = [];
  for (const part of parts) {
    if (/^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]* /.test(part) || challenges.length === 0) challenges.push([part]);
    else challenges[challenges.length - 1].push(part);
  }
  return challenges.map((c) => [...c, param].join(', ')).join(', ');
}
