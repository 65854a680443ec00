/**
 * What a feature app tells the platform about itself. Each app exports one manifest; the root
 * app lists them (see src/feature-apps.ts).
 */
export interface FeatureAppManifest {
  /** App name used in permissions, logs and the audit trail, e.g. `billing`. */
  name: string;
  /** Route prefix the app owns, e.g. `/billing`. */
  prefix: string;
  /** Owning team, for operators. */
  team: string;
  /** Permissions the app defines, with a one-line description each. */
  permissions: Record<string, string>;
}

/** Resolves which app owns a path, by longest matching prefix; `platform` when none does. */
export class AppRouter {
  private readonly apps: FeatureAppManifest[];

  constructor(apps: FeatureAppManifest[]) {
    this.apps = [...apps].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  appFor(path: string): string {
    for (const app of this.apps) {
      if (path === app.prefix || path.startsWith(`${app.prefix}/`)) return app.name;
    }
    return 'platform';
  }
}
