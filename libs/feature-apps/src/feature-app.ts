import { DynamicModule, Global, Module, type Type } from '@nestjs/common';
import type { SecretDefinition } from '@platform/secrets';

/**
 * What a feature app tells the platform about itself. Each app exports one manifest; the root app
 * lists them (src/feature-apps.ts). Every permission a route requires or the policy grants must be
 * declared by some manifest, or the platform refuses to start.
 */
export interface FeatureAppManifest {
  /** App name used in logs, the audit trail and `ENABLED_APPS`, e.g. `billing`. */
  name: string;
  /** Route prefix the app owns, e.g. `/billing`. */
  prefix: string;
  /** More prefixes the app owns, when its resources live side by side (e.g. `/service-accounts`). */
  otherPrefixes?: string[];
  /** Owning team, for operators. */
  team: string;
  /** Permissions the app defines (`app:resource:action`), with a one-line description each. */
  permissions: Record<string, string>;
  /** OAuth scopes a machine client may be granted for this app (mapped to permissions by the policy). */
  scopes: string[];
  /** Secrets the app uses, read through the secrets service (never from its own configuration). */
  secrets?: SecretDefinition[];
}

/** A feature app: its manifest and its Nest module. */
export interface FeatureApp {
  manifest: FeatureAppManifest;
  module: Type;
}

/**
 * The apps this deployment serves (after `ENABLED_APPS`), plus the platform's own manifest:
 * which app owns a path, and the catalogue of declared permissions.
 */
export class AppRegistry {
  private readonly byPrefix: Array<{ prefix: string; name: string }>;

  /**
   * @param apps the apps this deployment serves
   * @param known every app the platform knows, served or not: the policy may name the
   *   permissions of a disabled app (one policy file for every deployment)
   */
  constructor(
    readonly apps: readonly FeatureAppManifest[],
    private readonly known: readonly FeatureAppManifest[] = apps,
  ) {
    this.byPrefix = apps
      .flatMap((app) => [app.prefix, ...(app.otherPrefixes ?? [])].map((prefix) => ({ prefix, name: app.name })))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The app owning a path, by longest matching prefix; `platform` when none does. */
  appFor(path: string): string {
    for (const app of this.byPrefix) {
      if (path === app.prefix || path.startsWith(`${app.prefix}/`)) return app.name;
    }
    return 'platform';
  }

  /** Names of every app the platform knows (served or not), and `platform`. */
  knownNames(): string[] {
    return [...new Set([...this.known.map((app) => app.name), 'platform'])];
  }

  /** Every permission a known app declares, with the app that declares it and its description. */
  permissions(): Map<string, { app: string; description: string }> {
    const all = new Map<string, { app: string; description: string }>();
    for (const app of this.known) {
      for (const [permission, description] of Object.entries(app.permissions))
        all.set(permission, { app: app.name, description });
    }
    return all;
  }
}

/** Makes the {@link AppRegistry} injectable everywhere. */
@Global()
@Module({})
export class AppRegistryModule {
  static forRoot(registry: AppRegistry): DynamicModule {
    return {
      module: AppRegistryModule,
      providers: [{ provide: AppRegistry, useValue: registry }],
      exports: [AppRegistry],
    };
  }
}
