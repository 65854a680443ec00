import { describe, expect, it } from 'vitest';
import type { OpenAPIObject } from '@nestjs/swagger';
import { devSignInUiOptions, withDevSignIn } from './openapi-sign-in';

const doc = (): OpenAPIObject => ({
  openapi: '3.0.0',
  info: { title: 't', version: '1', description: 'Platform.' },
  paths: { '/x': { get: { responses: {}, security: [{ bearer: [] }] } }, '/health': { get: { responses: {} } } },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
});

describe('OpenAPI sign-in', () => {
  it('with an external provider, adds no scheme and says what to configure', () => {
    const result = withDevSignIn(doc(), undefined, 'https://login.example.com/');
    expect(Object.keys(result.components?.securitySchemes ?? {})).toEqual(['bearer']);
    expect(result.info.description).toContain('https://login.example.com/');
    expect(result.info.description).toContain('register a public client with authorization code + PKCE');
    expect(result.paths['/x'].get?.security).toEqual([{ bearer: [] }]);
  });

  it('with the development provider, offers it beside bearer only where a token is accepted', () => {
    const result = withDevSignIn(doc(), 'http://127.0.0.1:3001', undefined);
    expect(result.paths['/x'].get?.security).toEqual([{ bearer: [] }, { 'development-provider': ['openid'] }]);
    expect(result.paths['/health'].get?.security).toBeUndefined();
  });

  it('the page keeps the token in memory only: Swagger UI is not asked to persist it (localStorage)', () => {
    const options = devSignInUiOptions('https://api.example.com');
    expect(options).not.toHaveProperty('persistAuthorization');
    expect(options.initOAuth).toMatchObject({
      usePkceWithAuthorizationCodeGrant: true,
      additionalQueryStringParams: { resource: 'https://api.example.com' },
    });
  });
});
