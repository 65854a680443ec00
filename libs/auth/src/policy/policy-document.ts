import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type YAMLMap } from 'yaml';
import { compilePattern, isPermissionPattern, patternMatches } from './permission';

/** One role or scope of the policy file, after validation. */
export interface PolicyGrant {
  description: string;
  /** Permission patterns (see permission.ts). */
  permissions: string[];
  /** Roles whose permissions this role also grants (roles only; never a cycle). */
  includes: string[];
}

/** Maps an identity provider's role or group to platform roles, in every tenant or in one. */
export interface RoleMapping {
  /** Role or group name as the token carries it (after the preset's claim mapping). */
  from: string;
  /** Only for principals of this tenant; every tenant when absent. */
  tenant?: string;
  /** Platform roles it grants. */
  to: string[];
}

/**
 * The central policy file, validated: roles map to permissions (people), scopes map to
 * permissions (machines), and role mappings turn identity-provider roles or groups into roles.
 */
export interface PolicyDocument {
  roles: Record<string, PolicyGrant>;
  scopes: Record<string, PolicyGrant>;
  roleMappings: RoleMapping[];
}

/** Thrown for an invalid policy file; each problem names its line. */
export class PolicyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid policy ${source}:\n - ${problems.join('\n - ')}`);
    this.name = 'PolicyError';
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const SECTIONS = ['roles', 'scopes', 'roleMappings'];

/**
 * Parses and fully validates a policy file (YAML). Nothing is used unless everything is valid:
 * syntax, unknown sections or fields, permission syntax, permissions no app declares (when
 * `declaredPermissions` is given), includes of unknown roles, include cycles, mappings to unknown
 * roles.
 *
 * @param source file name used in messages
 * @param declaredPermissions every permission the apps' manifests declare
 * @throws PolicyError listing every problem as `line N: ...`
 */
export function parsePolicy(text: string, source: string, declaredPermissions?: ReadonlySet<string>): PolicyDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const problems: string[] = [];
  const at = (node: unknown) => {
    const range = (node as Node | null | undefined)?.range;
    return range ? `line ${lineCounter.linePos(range[0]).line}` : 'top';
  };
  for (const error of doc.errors)
    problems.push(`line ${lineCounter.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`);
  if (problems.length) throw new PolicyError(source, problems);

  const root = doc.contents;
  const result: PolicyDocument = { roles: {}, scopes: {}, roleMappings: [] };
  if (!isMap(root)) throw new PolicyError(source, ['top: the policy must be a mapping with "roles" and "scopes"']);
  const declared = declaredPermissions ? [...declaredPermissions].map((p) => p.split(':')) : undefined;
  const includeNodes = new Map<string, Node>();
  const mappingNodes: { mapping: RoleMapping; node: unknown }[] = [];

  const stringList = (node: unknown, what: string): { value: string; node: unknown }[] | undefined => {
    if (!isSeq(node)) {
      problems.push(`${at(node)}: ${what} must be a list`);
      return undefined;
    }
    return node.items.map((item) => ({
      value: isScalar(item) && typeof item.value === 'string' ? item.value : '',
      node: item,
    }));
  };

  const readGrant = (section: 'roles' | 'scopes', name: string, value: YAMLMap): PolicyGrant => {
    const grant: PolicyGrant = { description: '', permissions: [], includes: [] };
    for (const field of value.items) {
      const fieldName = isScalar(field.key) ? String(field.key.value) : '';
      const fieldAt = at(field.key);
      if (fieldName === 'description') {
        grant.description = isScalar(field.value) ? String(field.value.value) : '';
      } else if (fieldName === 'permissions') {
        for (const item of stringList(field.value, `"permissions" of "${name}"`) ?? []) {
          if (!isPermissionPattern(item.value)) {
            problems.push(
              `${at(item.node)}: "${item.value || String((item.node as { value?: unknown }).value)}" is not a permission (app:resource:action, "*" for a whole segment)`,
            );
          } else if (
            declared &&
            !declared.some((permission) => patternMatches(compilePattern(item.value), permission))
          ) {
            problems.push(`${at(item.node)}: "${item.value}" grants no permission that an app declares`);
          } else {
            grant.permissions.push(item.value);
          }
        }
      } else if (fieldName === 'includes' && section === 'roles') {
        for (const item of stringList(field.value, `"includes" of "${name}"`) ?? []) {
          grant.includes.push(item.value);
          includeNodes.set(`${name}\u0000${item.value}`, item.node as Node);
        }
      } else {
        const expected = section === 'roles' ? 'description, permissions, includes' : 'description, permissions';
        problems.push(`${fieldAt}: unknown field "${fieldName}" in "${name}" (expected ${expected})`);
      }
    }
    return grant;
  };

  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!SECTIONS.includes(key)) {
      problems.push(`${at(pair.key)}: unknown section "${key}" (expected ${SECTIONS.join(', ')})`);
      continue;
    }
    if (key === 'roleMappings') {
      if (!isSeq(pair.value)) {
        problems.push(`${at(pair.key)}: "roleMappings" must be a list`);
        continue;
      }
      for (const item of pair.value.items) {
        if (!isMap(item)) {
          problems.push(`${at(item)}: a role mapping must be a mapping with "from" and "to"`);
          continue;
        }
        const mapping: RoleMapping = { from: '', to: [] };
        for (const field of item.items) {
          const fieldName = isScalar(field.key) ? String(field.key.value) : '';
          if (fieldName === 'from' || fieldName === 'tenant') {
            const value = isScalar(field.value) ? field.value.value : undefined;
            if (typeof value !== 'string' || value === '')
              problems.push(`${at(field.key)}: "${fieldName}" must be a non-empty string`);
            else mapping[fieldName] = value;
          } else if (fieldName === 'to') {
            mapping.to = (stringList(field.value, '"to"') ?? []).map((i) => i.value);
          } else {
            problems.push(
              `${at(field.key)}: unknown field "${fieldName}" in a role mapping (expected from, tenant, to)`,
            );
          }
        }
        if (!mapping.from || mapping.to.length === 0)
          problems.push(`${at(item)}: a role mapping needs "from" and a non-empty "to"`);
        result.roleMappings.push(mapping);
        mappingNodes.push({ mapping, node: item });
      }
      continue;
    }
    if (!isMap(pair.value)) {
      problems.push(`${at(pair.key)}: "${key}" must be a mapping`);
      continue;
    }
    const section = key as 'roles' | 'scopes';
    for (const entry of pair.value.items) {
      const name = isScalar(entry.key) ? String(entry.key.value) : '';
      const where = at(entry.key);
      if (!NAME.test(name)) {
        problems.push(`${where}: invalid ${section === 'roles' ? 'role' : 'scope'} name "${name}"`);
        continue;
      }
      if (!isMap(entry.value)) {
        problems.push(`${where}: "${name}" must be a mapping with "permissions"`);
        continue;
      }
      result[section][name] = readGrant(section, name, entry.value);
    }
  }

  // Cross-references: includes and mappings name existing roles; includes never loop.
  for (const [name, grant] of Object.entries(result.roles)) {
    for (const included of grant.includes) {
      if (!Object.hasOwn(result.roles, included))
        problems.push(
          `${at(includeNodes.get(`${name}\u0000${included}`))}: "${name}" includes unknown role "${included}"`,
        );
    }
  }
  for (const { mapping, node } of mappingNodes) {
    for (const role of mapping.to)
      if (!Object.hasOwn(result.roles, role))
        problems.push(`${at(node)}: role mapping of "${mapping.from}" names unknown role "${role}"`);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (role: string, path: string[]): void => {
    if (state.get(role) === 'done' || !Object.hasOwn(result.roles, role)) return;
    if (state.get(role) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(role)), role];
      problems.push(
        `${at(includeNodes.get(`${path[path.length - 1]}\u0000${role}`))}: roles include each other in a cycle: ${cycle.join(' -> ')}`,
      );
      return;
    }
    state.set(role, 'visiting');
    for (const included of result.roles[role].includes) visit(included, [...path, role]);
    state.set(role, 'done');
  };
  for (const role of Object.keys(result.roles)) visit(role, []);

  if (problems.length) throw new PolicyError(source, problems);
  return result;
}
