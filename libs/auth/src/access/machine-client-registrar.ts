/** The credentials of a machine client created by the platform: the secret is shown once, never stored by the platform. */
export interface IssuedClient {
  clientId: string;
  clientSecret: string;
}

/**
 * Creates machine clients at the identity provider, when the platform can: with the built-in
 * development provider, registering a service account creates its client at once; with an
 * external provider (`issuesClients` false) clients are created there and the platform binds an
 * existing client id to a tenant and its scopes. The root app provides the implementation.
 */
export abstract class MachineClientRegistrar {
  /** True when {@link create} works (the development provider). */
  abstract readonly issuesClients: boolean;

  /**
   * Creates a client-credentials client of `tenant` allowed `scopes`.
   * @throws Error when `issuesClients` is false
   */
  abstract create(tenant: string, scopes: string[]): Promise<IssuedClient>;
}
