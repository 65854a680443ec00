/**
 * A secret the platform or a feature app uses, declared by name (feature apps in their manifest).
 * Its value is looked up, in this order: the file `<SECRETS_DIR>/<name>` (Kubernetes and Docker
 * mount secrets as files), the file named by `<ENV>_FILE`, then the variable `<ENV>` (development;
 * a warning in production), where `<ENV>` is the name in capitals with `_` for `-`
 * (`billing-webhook-secret` -> `BILLING_WEBHOOK_SECRET`). `<ENV>_PREVIOUS` may hold the previous
 * value during a rotation.
 */
export interface SecretDefinition {
  /** Lowercase letters, digits and dashes: the file name in `SECRETS_DIR`. */
  name: string;
  description: string;
  /** Returns the problem with a value (never quoting it), or undefined when it is acceptable. */
  validate: (value: string) => string | undefined;
  /** Who uses it (shown by `GET /platform/secrets`). */
  consumers: string[];
  /** A public value for development and tests; production must provide the secret. */
  developmentDefault?: string;
  /** The consumer has its own fallback when the secret is absent (it may appear later, and is then taken into use). */
  optional?: boolean;
}

/** The environment variable of a secret: `billing-webhook-secret` -> `BILLING_WEBHOOK_SECRET`. */
export function envNameOf(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** Validator: at least `min` characters. */
export const minLength =
  (min: number) =>
  (value: string): string | undefined =>
    value.length >= min ? undefined : `must be at least ${min} characters`;

/** Validator: a PEM block of `label` (e.g. `PRIVATE KEY`). */
export const pem =
  (label: string) =>
  (value: string): string | undefined =>
    new RegExp(`^-----BEGIN ${label}-----\\r?\\n[\\s\\S]+\\r?\\n-----END ${label}-----\\s*$`).test(value)
      ? undefined
      : `must be a PEM ${label}`;

/** Validator: a URL with a user and a password (a database or Redis URL). */
export const urlWithCredentials = (value: string): string | undefined => {
  try {
    const url = new URL(value);
    return url.username && url.password ? undefined : 'must be a URL with a user and a password';
  } catch {
    return 'must be a URL';
  }
};
