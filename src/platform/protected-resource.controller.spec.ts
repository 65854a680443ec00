import { describe, expect, it } from 'vitest';
import { withResourceMetadata } from './protected-resource.controller';

describe('withResourceMetadata (RFC 9728 section 5.1)', () => {
  const url = 'https://api.example/.well-known/oauth-protected-resource';
  const rm = `resource_metadata="${url}"`;

  it('ends each challenge with resource_metadata, keeping its parameters first', () => {
    expect(withResourceMetadata('Bearer realm="platform", DPoP algs="ES256 EdDSA"', url)).toBe(
      `Bearer realm="platform", ${rm}, DPoP algs="ES256 EdDSA", ${rm}`,
    );
  });

  it('commas and scheme names inside quoted strings are not challenge boundaries', () => {
    const header =
      'Bearer realm="platform", error="invalid_token", error_description="bound, DPoP proof \\"x\\", then", DPoP algs="ES256"';
    expect(withResourceMetadata(header, url)).toBe(
      `Bearer realm="platform", error="invalid_token", error_description="bound, DPoP proof \\"x\\", then", ${rm}, DPoP algs="ES256", ${rm}`,
    );
  });
});
