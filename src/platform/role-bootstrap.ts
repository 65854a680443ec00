import { existsSync, readFileSync } from 'node:fs';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { parse } from 'yaml';
import { AccessStateService, PolicyService } from '@platform/auth';
import { AuditWriter } from '@platform/audit';
import { concreteIssuers, PlatformConfig } from '@platform/config';
import { uuidV7 } from '@platform/http';

/** Who granted a binding made by the bootstrap (so it can be removed when the file no longer names it). */
export const BOOTSTRAP_GRANTOR = 'bootstrap';
/** Tenant column of a platform-wide binding (a platform role, held by a person without a tenant). */
export const PLATFORM_TENANT = '';

/** One subject and the roles it gets: in `tenant`, or platform-wide (platform roles, named `platform-*`). */
export interface BootstrapGrant {
  subject: string;
  /** The issuer the subject belongs to; defaults to the configured issuer. A grant for another issuer is refused. */
  issuer?: string;
  tenant?: string;
  roles: string[];
}

/** A role bound without a tenant must be a platform role: one whose name starts with `platform-`. */
export function isPlatformRole(role: string): boolean {
  return role.startsWith('platform-');
}

/**
 * Parses and validates a bootstrap document (YAML or JSON): `grants: [{ subject, issuer?, tenant?, roles: [...] }]`.
 *
 * @throws Error listing every problem by entry number (never a secret: the file holds none)
 */
export function parseBootstrap(
  text: string,
  source: string,
  issuer: string | readonly string[] | undefined,
  roleExists: (role: string) => boolean,
): BootstrapGrant[] {
  // Any trusted issuer (the issuers file may declare several).
  const trusted: readonly string[] = issuer === undefined ? [] : typeof issuer === 'string' ? [issuer] : issuer;
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const grants = (document as { grants?: unknown } | null)?.grants;
  if (!Array.isArray(grants))
    throw new Error(`${source}: expected "grants:" with a list of { subject, tenant?, roles }`);
  const problems: string[] = [];
  const result: BootstrapGrant[] = [];
  grants.forEach((raw, i) => {
    const at = `${source}: grants[${i}]`;
    const entry = raw as Record<string, unknown>;
    if (typeof entry !== 'object' || entry === null) return problems.push(`${at} must be a map`);
    const unknownKeys = Object.keys(entry).filter((k) => !['subject', 'issuer', 'tenant', 'roles'].includes(k));
    if (unknownKeys.length) problems.push(`${at} has unknown keys ${unknownKeys.join(', ')}`);
    if (typeof entry.subject !== 'string' || entry.subject.trim() === '')
      problems.push(`${at}.subject must be a non-empty string`);
    if (entry.issuer !== undefined && !trusted.includes(entry.issuer as string))
      problems.push(`${at}.issuer ${JSON.stringify(entry.issuer)} is not a trusted issuer (${trusted.join(', ')})`);
    if (entry.tenant !== undefined && (typeof entry.tenant !== 'string' || entry.tenant === ''))
      problems.push(`${at}.tenant must be a non-empty string (omit it for platform roles)`);
    if (!Array.isArray(entry.roles) || entry.roles.length === 0 || !entry.roles.every((r) => typeof r === 'string')) {
      problems.push(`${at}.roles must be a non-empty list of role names`);
      return;
    }
    for (const role of entry.roles) {
      if (!roleExists(role)) problems.push(`${at}: role "${role}" is not defined in the policy`);
      else if (entry.tenant === undefined && !isPlatformRole(role))
        problems.push(
          `${at}: role "${role}" is a tenant role: give the tenant (only platform-* roles are held without one)`,
        );
    }
    result.push({
      subject: String(entry.subject),
      issuer: entry.issuer as string | undefined,
      tenant: typeof entry.tenant === 'string' ? entry.tenant : undefined,
      roles: entry.roles,
    });
  });
  if (problems.length) throw new Error(`Invalid bootstrap:\n - ${problems.join('\n - ')}`);
  return result;
}

/**
 * Bootstrap without SQL (issue 16 item 4): the first tenant administrators and the platform
 * operators, named in `PLATFORM_BOOTSTRAP` (inline YAML/JSON) or the file `BOOTSTRAP_FILE`
 * (default `config/bootstrap.yaml`, optional), are bound at start, idempotently. Bindings the
 * bootstrap made earlier that the document no longer names are removed. Each change is an audit
 * event (`access.role_bound` / `access.role_unbound`, actor `bootstrap`). An invalid document stops the start.
 */
@Injectable()
export class RoleBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(RoleBootstrap.name);

  constructor(
    private readonly config: PlatformConfig,
    private readonly access: AccessStateService,
    private readonly policy: PolicyService,
    private readonly audit: AuditWriter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { inline, file, fileRequired } = this.config.bootstrap;
    let grants: BootstrapGrant[] | undefined;
    if (inline !== undefined)
      grants = parseBootstrap(inline, 'PLATFORM_BOOTSTRAP', this.trustedIssuers(), (r) => this.policy.hasRole(r));
    else if (existsSync(file))
      grants = parseBootstrap(readFileSync(file, 'utf8'), file, this.trustedIssuers(), (r) => this.policy.hasRole(r));
    else if (fileRequired) throw new Error(`BOOTSTRAP_FILE ${file} does not exist`);
    if (grants === undefined) return;
    await this.apply(grants, inline ? 'PLATFORM_BOOTSTRAP' : file);
  }

  /** Binds every named role (no-op when bound) and unbinds earlier bootstrap bindings the document dropped. */
  async apply(grants: BootstrapGrant[], source: string): Promise<{ bound: number; unbound: number }> {
    const wanted = new Set<string>();
    const key = (tenant: string, subject: string, role: string) => JSON.stringify([tenant, subject, role]);
    let bound = 0;
    for (const grant of grants) {
      for (const role of grant.roles) {
        const tenant = grant.tenant ?? PLATFORM_TENANT;
        wanted.add(key(tenant, grant.subject, role));
        if (await this.access.grant(tenant, grant.subject, role, BOOTSTRAP_GRANTOR)) {
          bound++;
          this.audited('access.role_bound', source, { subject: grant.subject, tenant: grant.tenant ?? null, role });
        }
      }
    }
    const dropped = (await this.access.bindingsGrantedBy(BOOTSTRAP_GRANTOR)).filter(
      (row) => !wanted.has(key(row.tenant, row.subject, row.role)),
    );
    // Only what this process removed is audited: replicas or workers starting together run this too.
    const removed = await this.access.revokeGrantedBy(BOOTSTRAP_GRANTOR, dropped);
    const unbound = removed.length;
    for (const row of removed)
      this.audited('access.role_unbound', source, {
        subject: row.subject,
        tenant: row.tenant === PLATFORM_TENANT ? null : row.tenant,
        role: row.role,
      });
    this.logger.log({ source, bound, unbound, grants: grants.length }, 'Bootstrap role bindings applied');
    return { bound, unbound };
  }

  /** Every exact issuer a grant may name (one per allow-listed Entra directory). */
  private trustedIssuers(): string[] {
    return this.config.issuers.length > 0
      ? this.config.issuers.flatMap(concreteIssuers)
      : this.config.oidc.issuer
        ? [this.config.oidc.issuer]
        : [];
  }

  private audited(
    event: string,
    source: string,
    binding: { subject: string; tenant: string | null; role: string },
  ): void {
    this.audit.record({
      recordId: uuidV7(),
      kind: 'event',
      event,
      occurredAt: new Date(),
      requestId: `bootstrap-${uuidV7()}`,
      method: 'BOOTSTRAP',
      path: source.slice(0, 500),
      requiredPermissions: [],
      status: 200,
      durationMs: 0,
      subject: BOOTSTRAP_GRANTOR,
      tenant: binding.tenant,
      issuer: this.config.oidc.issuer ?? null,
      resourceId: binding.subject,
      details: { reason: 'bootstrap', ...binding },
    });
  }
}
