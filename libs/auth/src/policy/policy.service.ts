import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { PlatformConfig } from '@platform/config';
import { AppRegistry } from '@platform/feature-apps';
import type { Principal } from '../principal';
import { compilePattern, patternMatches, type CompiledPattern } from './permission';
import { parsePolicy, type PolicyDocument, type RoleMapping } from './policy-document';

/** Where a principal's role comes from, for explanations. */
export interface RoleSource {
  role: string;
  /** `token` (the token's own roles), `mapping` (a role mapping), `binding` (granted in the platform), `includes` (included by another role). */
  source: 'token' | 'mapping' | 'binding' | 'includes';
  /** The token role a mapping matched, or the role that includes this one. */
  from?: string;
}

/** Why a principal has, or lacks, a permission: what `GET /platform/authz/explain` returns. */
export interface PolicyExplanation {
  allowed: boolean;
  /** The same reason codes as the audit trail. */
  reason: 'permission_granted' | 'insufficient_permission' | 'insufficient_scope';
  /** Each role (or scope) that grants the permission, with the pattern that matched. */
  grantedBy: { role?: string; scope?: string; pattern: string; source?: RoleSource }[];
  /** Every role the principal holds and where each came from (people only). */
  roles: RoleSource[];
}

/** Outcome of one authorization check. */
export interface PolicyDecision {
  allowed: boolean;
  /** Required permissions the principal lacks (empty when allowed). */
  missing: string[];
  /**
   * What the grant came from: roles for people, scopes for machines, both for a delegation (an
   * actor acting for a person), where `missingForSubject` and `missingForActor` tell whose it is.
   */
  basis: 'roles' | 'scopes' | 'delegation';
  /** Delegation only: required permissions the person's roles do not grant. */
  missingForSubject?: string[];
  /** Delegation only: required permissions the actor's scopes do not grant. */
  missingForActor?: string[];
}

const MAX_MEMO = 10_000;

/**
 * The central policy: the only place where roles (people) and scopes (machines) turn into
 * permissions. Loaded and validated at start-up from `POLICY_FILE` (against the permissions the
 * apps declare) and again whenever the file changes (an invalid change is refused and logged);
 * grant sets are compiled once per distinct combination and memoised, so a check is a few array
 * compares.
 *
 * Documented rules:
 * - a `user` principal's roles are the roles its token carries plus those its role mappings add
 *   (`roleMappings`, per tenant where given), each with the roles it `includes`, transitively;
 * - a `service` principal's permissions come only from its scopes (least privilege: a machine's
 *   roles claim is ignored);
 * - a delegated principal (a person with actors, RFC 8693) holds a permission only when the
 *   person's roles grant it and the actor's scopes (the token's scopes) grant it too: an agent never
 *   gets more than either of them may do.
 */
@Injectable()
export class PolicyService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(PolicyService.name);
  private document: PolicyDocument = { roles: {}, scopes: {}, roleMappings: [] };
  private closure = new Map<string, string[]>();
  private mappings = new Map<string, RoleMapping[]>();
  private readonly memo = new Map<string, CompiledPattern[]>();
  private readonly listeners = new Set<(applied: boolean) => void>();
  private used = 0;

  constructor(
    private readonly config: PlatformConfig,
    @Optional() private readonly registry?: AppRegistry,
  ) {}

  onModuleInit(): void {
    this.use(this.readFile());
    this.logger.log(
      {
        file: this.config.policyFile,
        roles: Object.keys(this.document.roles).length,
        scopes: Object.keys(this.document.scopes).length,
      },
      'Policy loaded',
    );
    // Reload on change, without a restart. Polled: editors and mounted volumes replace files.
    // Read only once the file has been still for one more poll, never a half-written file.
    watchFile(this.config.policyFile, { interval: 500, persistent: false }, this.onFileChange);
  }

  onApplicationShutdown(): void {
    unwatchFile(this.config.policyFile, this.onFileChange);
    if (this.settle) clearTimeout(this.settle);
  }

  private settle?: NodeJS.Timeout;
  private readonly onFileChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size) return;
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.reloadFile();
    }, 600).unref();
  };

  /**
   * Reads the policy file again. An invalid file keeps the policy in force and logs every problem.
   * @returns true when the new policy is in force
   */
  reloadFile(): boolean {
    try {
      this.use(this.readFile());
    } catch (err) {
      this.logger.error(
        {
          file: this.config.policyFile,
          problems: (err as { problems?: string[] }).problems ?? [(err as Error).message],
        },
        'Policy change refused; the previous policy stays in force',
      );
      for (const listener of this.listeners) listener(false);
      return false;
    }
    this.logger.log({ file: this.config.policyFile }, 'Policy reloaded');
    for (const listener of this.listeners) listener(true);
    return true;
  }

  /** Calls `listener` after every reload attempt (true: applied). Returns the unsubscribe function. */
  onReload(listener: (applied: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private readFile(): PolicyDocument {
    const declared = this.registry ? new Set(this.registry.permissions().keys()) : undefined;
    return parsePolicy(readFileSync(this.config.policyFile, 'utf8'), this.config.policyFile, declared);
  }

  /** Replaces the policy (already validated) and forgets compiled grants. */
  use(document: PolicyDocument): void {
    this.document = document;
    this.closure = new Map(Object.keys(document.roles).map((role) => [role, this.expand(role, new Set())]));
    this.mappings = new Map();
    for (const mapping of document.roleMappings)
      this.mappings.set(mapping.from, [...(this.mappings.get(mapping.from) ?? []), mapping]);
    this.memo.clear();
    this.used += 1;
  }

  /** Changes with every policy put in force: a decision made under an older version may be stale. */
  get version(): number {
    return this.used;
  }

  get current(): PolicyDocument {
    return this.document;
  }

  /** Decides whether `principal` holds every permission in `required` (exact permissions). */
  decide(principal: Principal, required: readonly string[]): PolicyDecision {
    if (principal.type === 'user' && principal.actors.length > 0) {
      const missingForSubject = this.missing(principal, required, 'roles');
      const missingForActor = this.missing(principal, required, 'scopes');
      const missing = required.filter((p) => missingForSubject.includes(p) || missingForActor.includes(p));
      return { allowed: missing.length === 0, missing, basis: 'delegation', missingForSubject, missingForActor };
    }
    const basis = principal.type === 'service' ? 'scopes' : 'roles';
    const missing = this.missing(principal, required, basis);
    return { allowed: missing.length === 0, missing, basis };
  }

  private missing(principal: Principal, required: readonly string[], basis: 'roles' | 'scopes'): string[] {
    const grants = this.grantsFor(principal, basis);
    return required.filter((permission) => {
      const parts = permission.split(':');
      return !grants.some((pattern) => patternMatches(pattern, parts));
    });
  }

  /**
   * The platform roles a person holds: the token's roles that are platform roles and the roles
   * their mappings add, the bound roles (mappings never apply to these), and what they include.
   */
  effectiveRoles(principal: Pick<Principal, 'roles' | 'tenant'> & { boundRoles?: readonly string[] }): string[] {
    const direct = new Set<string>();
    for (const role of principal.roles) {
      if (Object.hasOwn(this.document.roles, role)) direct.add(role);
      for (const mapping of this.mappings.get(role) ?? []) {
        if (mapping.tenant === undefined || mapping.tenant === principal.tenant)
          for (const to of mapping.to) direct.add(to);
      }
    }
    for (const role of principal.boundRoles ?? []) direct.add(role);
    return [...new Set([...direct].flatMap((role) => this.closure.get(role) ?? []))];
  }

  /**
   * Explains a decision: which role (and where that role came from) or which scope grants
   * `permission`, or that none does.
   *
   * @param boundRoles roles granted in the platform (bindings), reported as such
   */
  explain(
    principal: Pick<Principal, 'type' | 'roles' | 'scopes' | 'tenant'>,
    permission: string,
    boundRoles: readonly string[] = [],
  ): PolicyExplanation {
    const parts = permission.split(':');
    if (principal.type === 'service') {
      const grantedBy = principal.scopes.flatMap((scope) =>
        (this.document.scopes[scope]?.permissions ?? [])
          .filter((p) => patternMatches(compilePattern(p), parts))
          .map((pattern) => ({ scope, pattern })),
      );
      return {
        allowed: grantedBy.length > 0,
        reason: grantedBy.length ? 'permission_granted' : 'insufficient_scope',
        grantedBy,
        roles: [],
      };
    }
    const roles = this.roleSources(principal.roles, boundRoles, principal.tenant);
    const grantedBy = roles.flatMap((source) =>
      this.document.roles[source.role].permissions
        .filter((p) => patternMatches(compilePattern(p), parts))
        .map((pattern) => ({ role: source.role, pattern, source })),
    );
    return {
      allowed: grantedBy.length > 0,
      reason: grantedBy.length ? 'permission_granted' : 'insufficient_permission',
      grantedBy,
      roles,
    };
  }

  private roleSources(
    tokenRoles: readonly string[],
    boundRoles: readonly string[],
    tenant: string | null,
  ): RoleSource[] {
    const found = new Map<string, RoleSource>();
    const add = (source: RoleSource) => {
      if (found.has(source.role) || !Object.hasOwn(this.document.roles, source.role)) return;
      found.set(source.role, source);
      for (const included of this.document.roles[source.role].includes)
        add({ role: included, source: 'includes', from: source.role });
    };
    for (const name of boundRoles) add({ role: name, source: 'binding' });
    for (const name of tokenRoles) {
      add({ role: name, source: 'token' });
      for (const mapping of this.mappings.get(name) ?? []) {
        if (mapping.tenant === undefined || mapping.tenant === tenant)
          for (const to of mapping.to) add({ role: to, source: 'mapping', from: name });
      }
    }
    return [...found.values()];
  }

  /** True when the policy defines `role` (bootstrap and grant tools refuse unknown roles). */
  hasRole(role: string): boolean {
    return Object.hasOwn(this.document.roles, role);
  }

  /** Scopes whose grant covers `permission` (for `WWW-Authenticate: ... scope=`, RFC 6750 section 3). */
  scopesGranting(permission: string): string[] {
    const parts = permission.split(':');
    return Object.entries(this.document.scopes)
      .filter(([, grant]) => grant.permissions.some((p) => patternMatches(compilePattern(p), parts)))
      .map(([name]) => name);
  }

  private expand(role: string, seen: Set<string>): string[] {
    if (seen.has(role) || !Object.hasOwn(this.document.roles, role)) return [];
    seen.add(role);
    return [role, ...this.document.roles[role].includes.flatMap((included) => this.expand(included, seen))];
  }

  private grantsFor(principal: Principal, basis: 'roles' | 'scopes'): CompiledPattern[] {
    // JSON keeps distinct name lists distinct, whatever characters a provider puts in a role name.
    const key = JSON.stringify(
      basis === 'scopes'
        ? [basis, ...principal.scopes]
        : [basis, principal.tenant, principal.roles, principal.boundRoles],
    );
    let grants = this.memo.get(key);
    if (grants === undefined) {
      grants =
        basis === 'scopes'
          ? principal.scopes.flatMap((scope) =>
              Object.hasOwn(this.document.scopes, scope)
                ? this.document.scopes[scope].permissions.map(compilePattern)
                : [],
            )
          : this.effectiveRoles(principal).flatMap((role) => this.document.roles[role].permissions.map(compilePattern));
      if (this.memo.size >= MAX_MEMO) this.memo.clear();
      this.memo.set(key, grants);
    }
    return grants;
  }
}
