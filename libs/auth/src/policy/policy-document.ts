import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { isPermissionPattern } from './permission';

/** One role or scope of the policy file, after validation. */
export interface PolicyGrant {
  description: string;
  /** Permission patterns (see permission.ts). */
  permissions: string[];
}

/** The central policy file, validated: roles map to permissions (people), scopes map to permissions (machines). */
export interface PolicyDocument {
  roles: Record<string, PolicyGrant>;
  scopes: Record<string, PolicyGrant>;
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

/**
 * Parses and fully validates a policy file (YAML). Nothing is used unless everything is valid.
 *
 * @param source file name used in messages
 * @throws PolicyError listing every problem as `line N: ...`
 */
export function parsePolicy(text: string, source: string): PolicyDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const problems: string[] = [];
  const at = (node: Node | null | undefined) => (node?.range ? `line ${lineCounter.linePos(node.range[0]).line}` : 'top');
  for (const error of doc.errors) problems.push(`line ${lineCounter.linePos(error.pos[0]).line}: ${error.message.split('\n')[0]}`);
  if (problems.length) throw new PolicyError(source, problems);

  const root = doc.contents;
  const result: PolicyDocument = { roles: {}, scopes: {} };
  if (!isMap(root)) throw new PolicyError(source, ['top: the policy must be a mapping with "roles" and "scopes"']);
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key !== 'roles' && key !== 'scopes') {
      problems.push(`${at(pair.key as Node)}: unknown section "${key}" (expected roles, scopes)`);
      continue;
    }
    if (!isMap(pair.value)) {
      problems.push(`${at(pair.key as Node)}: "${key}" must be a mapping`);
      continue;
    }
    for (const entry of pair.value.items) {
      const name = isScalar(entry.key) ? String(entry.key.value) : '';
      const where = at(entry.key as Node);
      if (!NAME.test(name)) {
        problems.push(`${where}: invalid ${key === 'roles' ? 'role' : 'scope'} name "${name}"`);
        continue;
      }
      const grant: PolicyGrant = { description: '', permissions: [] };
      if (!isMap(entry.value)) {
        problems.push(`${where}: "${name}" must be a mapping with "permissions"`);
        continue;
      }
      for (const field of entry.value.items) {
        const fieldName = isScalar(field.key) ? String(field.key.value) : '';
        const fieldAt = at(field.key as Node);
        if (fieldName === 'description') {
          grant.description = isScalar(field.value) ? String(field.value.value) : '';
        } else if (fieldName === 'permissions') {
          if (!isSeq(field.value)) {
            problems.push(`${fieldAt}: "permissions" of "${name}" must be a list`);
            continue;
          }
          for (const item of field.value.items) {
            const value = isScalar(item) ? item.value : undefined;
            if (typeof value !== 'string' || !isPermissionPattern(value)) {
              problems.push(`${at(item as Node)}: "${String(value)}" is not a permission (app:resource:action, "*" for a whole segment)`);
            } else {
              grant.permissions.push(value);
            }
          }
        } else {
          problems.push(`${fieldAt}: unknown field "${fieldName}" in "${name}" (expected description, permissions)`);
        }
      }
      result[key][name] = grant;
    }
  }
  if (problems.length) throw new PolicyError(source, problems);
  return result;
}
