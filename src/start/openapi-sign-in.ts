import type { OpenAPIObject } from '@nestjs/swagger';
import { DEV_CLI_CLIENT } from '@platform/dev-idp';

/** Name of the OAuth 2.0 security scheme through which the OpenAPI page signs in. */
export const DEV_SIGN_IN_SCHEME = 'development-provider';

/**
 * Lets the OpenAPI page sign in through the development provider (authorization code + PKCE, the
 * token command's public client): adds an OAuth 2.0 scheme with the provider's endpoints, offered
 * as an alternative wherever an operation accepts a bearer token. With an external provider the
 * document's description says what to configure instead. Mutates and returns `document`.
 *
 * @param issuer the development provider's issuer, or undefined when an external provider is configured
 */
export function withDevSignIn(
  document: OpenAPIObject,
  issuer: string | undefined,
  externalIssuer: string | undefined,
): OpenAPIObject {
  if (!issuer) {
    document.info.description += ` Sign-in: "Try it out" needs an access token from ${externalIssuer ?? 'the identity provider'} (Authorize, bearer). To sign in from this page, register a public client with authorization code + PKCE and this page's /docs/oauth2-redirect.html as redirect URI at that provider.`;
    return document;
  }
  document.components = document.components ?? {};
  document.components.securitySchemes = {
    ...document.components.securitySchemes,
    [DEV_SIGN_IN_SCHEME]: {
      type: 'oauth2',
      description: 'Sign in as a seeded user of the development provider (authorization code + PKCE)',
      flows: {
        authorizationCode: {
          authorizationUrl: `${issuer}/auth`,
          tokenUrl: `${issuer}/token`,
          scopes: { openid: 'Sign in', profile: 'Name, email and tenant' },
        },
      },
    },
  };
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as { security?: Record<string, string[]>[] }[]) {
      if (operation?.security?.some((requirement) => 'bearer' in requirement))
        operation.security.push({ [DEV_SIGN_IN_SCHEME]: ['openid'] });
    }
  }
  return document;
}

/**
 * Swagger UI options: PKCE with the token command's client, asking for a token for the platform's
 * audience (RFC 8707). `persistAuthorization` stays off (Swagger UI's default): on, the page would
 * keep the access token in localStorage, where any script of the origin reads it after the tab closes.
 */
export function devSignInUiOptions(audience: string): Record<string, unknown> {
  return {
    initOAuth: {
      clientId: DEV_CLI_CLIENT.clientId,
      usePkceWithAuthorizationCodeGrant: true,
      scopes: ['openid', 'profile'],
      additionalQueryStringParams: { resource: audience },
    },
  };
}
