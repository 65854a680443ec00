import { AuthFailure } from './auth-failure';

/** How a provider joins several values into one string claim (glewlwyd: comma; some SAML bridges: space). */
export type ClaimDelimiter = ',' | ' ';

/**
 * The value at a claim path: the top-level claim of exactly that name when there is one (claim
 * names may contain dots: Auth0's `https://platform.example/roles`), else the dotted path walked
 * through nested objects (Keycloak's `realm_access.roles`). Never evaluates anything else.
 *
 * @returns undefined when the path leads nowhere
 */
export function readClaimPath(claims: Record<string, unknown>, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const segment of path.split('.')) {
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      !Object.prototype.hasOwnProperty.call(value, segment)
    )
      return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/**
 * A multi-valued claim as a list of strings, duplicates dropped, order kept:
 * - an array of strings as it is;
 * - a single string is ONE value (several providers send a one-element list that way), or, with a
 *   `delimiter`, the values it joins (empty parts dropped);
 * - absent or null is no value.
 *
 * @throws AuthFailure `malformed_claims` naming `claim` (never its value) for any other shape
 */
export function claimValues(value: unknown, claim: string, delimiter?: ClaimDelimiter): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') {
    const parts = delimiter ? value.split(delimiter).map((part) => part.trim()) : [value];
    return [...new Set(parts.filter(Boolean))];
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    throw new AuthFailure('malformed_claims', { claim });
  return [...new Set(value)];
}

/**
 * True when the provider says a person's groups did not fit in the token (Microsoft Entra ID's
 * groups overage: `_claim_names.groups` pointing at a source, or `hasgroups: true`). The platform
 * never fetches the URL named in `_claim_sources`, and never guesses the groups.
 */
export function groupsOverage(claims: Record<string, unknown>): boolean {
  if (claims.hasgroups === true) return true;
  const names = claims._claim_names;
  return (
    typeof names === 'object' &&
    names !== null &&
    !Array.isArray(names) &&
    Object.prototype.hasOwnProperty.call(names, 'groups')
  );
}

/** The 403 `groups_overage` detail: what the person's administrator can change. */
export const GROUPS_OVERAGE_DETAIL =
  "The identity provider left this person's groups out of the token (too many groups), so roles granted through groups are unknown here and never guessed: assign the role directly (an app role), or limit the groups the provider emits.";
