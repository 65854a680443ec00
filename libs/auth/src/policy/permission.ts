/**
 * Permissions are `app:resource:action` strings (e.g. `billing:invoices:read`). Grants in the
 * policy may use `*` for a whole segment (`billing:*:read`), and a trailing `*` matches every
 * remaining segment (`billing:*` matches `billing:invoices:read`). Required permissions on routes
 * are always exact: three segments, no wildcard.
 */
const SEGMENT = /^[a-z][a-z0-9-]*$/;

/** True when `value` is an exact permission a route may require. */
export function isExactPermission(value: string): boolean {
  const parts = value.split(':');
  return parts.length === 3 && parts.every((p) => SEGMENT.test(p));
}

/** True when `value` is a permission or a wildcard pattern a role or scope may grant. */
export function isPermissionPattern(value: string): boolean {
  const parts = value.split(':');
  if (parts.length < 1 || parts.length > 3 || !SEGMENT.test(parts[0])) return false;
  if (parts.length < 3 && parts[parts.length - 1] !== '*') return false;
  return parts.slice(1).every((p) => p === '*' || SEGMENT.test(p));
}

/** A grant pattern split once, so that checks do no string work per request. */
export type CompiledPattern = readonly string[];

export function compilePattern(pattern: string): CompiledPattern {
  return pattern.split(':');
}

/** True when the compiled grant `pattern` covers the exact `permission` (already split). */
export function patternMatches(pattern: CompiledPattern, permission: readonly string[]): boolean {
  const last = pattern.length - 1;
  for (let i = 0; i < pattern.length; i++) {
    if (i === last && pattern[i] === '*') return true;
    if (pattern[i] !== '*' && pattern[i] !== permission[i]) return false;
  }
  return pattern.length === permission.length;
}
