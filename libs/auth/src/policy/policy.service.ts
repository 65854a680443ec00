import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { PlatformConfig } from '@platform/config';
import type { Principal } from '../principal';
import { compilePattern, patternMatches, type CompiledPattern } from './permission';
import { parsePolicy, type PolicyDocument } from './policy-document';

/** Outcome of one authorization check. */
export interface PolicyDecision {
  allowed: boolean;
  /** Required permissions the principal lacks (empty when allowed). */
  missing: string[];
  /** What the grant came from: roles for people, scopes for machines. */
  basis: 'roles' | 'scopes';
}

const MAX_MEMO = 10_000;

/**
 * The central policy: the only place where roles (people) and scopes (machines) turn into
 * permissions. Loaded and validated once at start-up from `POLICY_FILE`; grant sets are compiled
 * once per distinct role or scope combination and memoised, so a check is a few array compares.
 *
 * Documented rules: a `user` principal's permissions come from its roles; a `service` principal's
 * come only from its scopes (least privilege: a machine's roles claim is ignored).
 */
@Injectable()
export class PolicyService implements OnModuleInit {
  private readonly logger = new Logger(PolicyService.name);
  private document: PolicyDocument = { roles: {}, scopes: {} };
  private readonly memo = new Map<string, CompiledPattern[]>();

  constructor(private readonly config: PlatformConfig) {}

  onModuleInit(): void {
    this.use(parsePolicy(readFileSync(this.config.policyFile, 'utf8'), this.config.policyFile));
    this.logger.log(
      { file: this.config.policyFile, roles: Object.keys(this.document.roles).length, scopes: Object.keys(this.document.scopes).length },
      'Policy loaded',
    );
  }

  /** Replaces the policy (already validated) and forgets compiled grants. */
  use(document: PolicyDocument): void {
    this.document = document;
    this.memo.clear();
  }

  get current(): PolicyDocument {
    return this.document;
  }

  /** Decides whether `principal` holds every permission in `required` (exact permissions). */
  decide(principal: Principal, required: readonly string[]): PolicyDecision {
    const basis = principal.type === 'service' ? 'scopes' : 'roles';
    const grants = this.grantsFor(basis, basis === 'scopes' ? principal.scopes : principal.roles);
    const missing = required.filter((permission) => {
      const parts = permission.split(':');
      return !grants.some((pattern) => patternMatches(pattern, parts));
    });
    return { allowed: missing.length === 0, missing, basis };
  }

  /** Scopes whose grant covers `permission` (for `WWW-Authenticate: ... scope=`, RFC 6750 section 3). */
  scopesGranting(permission: string): string[] {
    const parts = permission.split(':');
    return Object.entries(this.document.scopes)
      .filter(([, grant]) => grant.permissions.some((p) => patternMatches(compilePattern(p), parts)))
      .map(([name]) => name);
  }

  private grantsFor(basis: 'roles' | 'scopes', names: readonly string[]): CompiledPattern[] {
    // JSON keeps distinct name lists distinct, whatever characters a provider puts in a role name.
    const key = JSON.stringify([basis, ...names]);
    let grants = this.memo.get(key);
    if (grants === undefined) {
      const table = basis === 'roles' ? this.document.roles : this.document.scopes;
      grants = names.flatMap((name) => (Object.hasOwn(table, name) ? table[name].permissions.map(compilePattern) : []));
      if (this.memo.size >= MAX_MEMO) this.memo.clear();
      this.memo.set(key, grants);
    }
    return grants;
  }
}
