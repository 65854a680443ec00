import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { PlatformConfig } from '@platform/config';
import { registerSecretValue, unregisterSecretValue } from '@platform/logging';
import { PlatformMetrics } from '@platform/observability';
import { envNameOf, type SecretDefinition } from './secret-definition';

/** Injection token of the declared secrets (the platform's and every enabled app's). */
export const SECRET_DEFINITIONS = Symbol('SECRET_DEFINITIONS');
/** Injection token of the environment the secrets are read from (the process's, or a test's). */
export const SECRETS_ENV = Symbol('SECRETS_ENV');

/** Where a secret's current value came from. */
export type SecretSource = 'secrets-dir' | 'file' | 'env' | 'development-default';

/** What `GET /platform/secrets` shows of a secret: never its value. */
export interface SecretDescription {
  name: string;
  description: string;
  source: SecretSource;
  /** First 12 hex digits of the value's SHA-256: tells versions apart, reveals nothing. */
  version: string;
  /** When the running platform last saw the value change (null: unchanged since start). */
  rotatedAt: string | null;
  /** Version of the previous value while it is still accepted, and until when. */
  previous: { version: string; acceptedUntil: string | null } | null;
  consumers: string[];
}

/** What happened to a secret: a new value in use, the previous one no longer accepted, or a new value refused. */
export type SecretChange = 'rotated' | 'previous_expired' | 'refused';

/** Thrown at start-up for a missing or invalid secret: names it, never its value. */
export class SecretError extends Error {
  override readonly name = 'SecretError';
}

interface Loaded {
  value: string;
  source: SecretSource;
}

/** Source precedence: a refresh never falls back from a source to a later one (a file briefly missing during a swap). */
const SOURCE_RANK: Record<SecretSource, number> = { 'secrets-dir': 0, file: 1, env: 2, 'development-default': 3 };

interface SecretState extends Loaded {
  definition: SecretDefinition;
  version: string;
  rotatedAt: Date | null;
  /** The value before the last rotation, accepted until `until` (epoch milliseconds). */
  previous?: { value: string; version: string; until: number };
  /** `<ENV>_PREVIOUS`, accepted as long as it is set. */
  configuredPrevious?: string;
  /** A changed value seen once: taken into use when the next read gives it again (not a half-written file). */
  candidate?: string;
  /** Version of the last refused value: refused once, not at every poll. */
  refusedVersion?: string;
}

const versionOf = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 12);
/** Mounted secret files often end with a newline the value does not have. */
const clean = (raw: string) => raw.replace(/\r?\n$/, '');

/**
 * The one place secrets are read. Each declared secret is loaded at start (a missing or invalid
 * one stops the start, naming it), then watched: its file is polled every
 * `SECRETS_POLL_INTERVAL_MS` (mounted volumes change by symlink swap, which file watchers miss)
 * and its folder watched, so a new value takes effect within about a second, with a log line and
 * `platform_secret_rotations_total`. A changed value that fails validation is refused (the
 * current one stays, an error is logged). Consumers ask at every use (`get`, or `accepted` where
 * both sides must overlap: the previous value stays accepted `SECRETS_GRACE_SECONDS` after a
 * rotation). Every value is registered for redaction from log lines.
 */
@Injectable()
export class SecretsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SecretsService.name);
  private readonly secrets = new Map<string, SecretState>();
  private readonly listeners = new Set<(name: string, change: SecretChange) => void>();
  private timer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private readonly expiries = new Set<NodeJS.Timeout>();

  constructor(
    @Inject(SECRET_DEFINITIONS) private readonly definitions: SecretDefinition[],
    @Inject(SECRETS_ENV) private readonly env: Record<string, string | undefined>,
    private readonly config: PlatformConfig,
    private readonly metrics: PlatformMetrics,
  ) {}

  private loaded = false;

  /** @throws SecretError naming every missing or invalid secret */
  onModuleInit(): void {
    this.load();
  }

  /**
   * Loads every declared secret and starts watching them; runs once, at module init or at the
   * first read by a provider built earlier (the database connection).
   * @throws SecretError naming every missing or invalid secret
   */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const problems: string[] = [];
    for (const definition of this.definitions) {
      const loaded = this.read(definition);
      if (!loaded && definition.optional) continue;
      if (!loaded) {
        problems.push(
          `${definition.name}: missing (file ${this.config.secrets.dir ? path.join(this.config.secrets.dir, definition.name) : `<SECRETS_DIR>/${definition.name}`}, ${envNameOf(definition.name)}_FILE or ${envNameOf(definition.name)})`,
        );
        continue;
      }
      const problem = definition.validate(loaded.value);
      if (problem) {
        problems.push(`${definition.name}: ${problem} (from ${loaded.source})`);
        continue;
      }
      if (loaded.source === 'env' && this.config.env === 'production') {
        this.logger.warn(
          { secretName: definition.name },
          'Secret read from an environment variable in production: mount it as a file (SECRETS_DIR or *_FILE)',
        );
      }
      const configuredPrevious = this.env[`${envNameOf(definition.name)}_PREVIOUS`] || undefined;
      const previousProblem = configuredPrevious === undefined ? undefined : definition.validate(configuredPrevious);
      if (previousProblem) {
        problems.push(`${definition.name}: ${envNameOf(definition.name)}_PREVIOUS ${previousProblem}`);
        continue;
      }
      registerSecretValue(loaded.value);
      if (configuredPrevious) registerSecretValue(configuredPrevious);
      this.secrets.set(definition.name, {
        ...loaded,
        definition,
        version: versionOf(loaded.value),
        rotatedAt: null,
        configuredPrevious,
      });
    }
    if (problems.length > 0) throw new SecretError(`Secrets missing or invalid:\n - ${problems.join('\n - ')}`);
    this.timer = setInterval(() => this.refresh(), this.config.secrets.pollIntervalMs).unref();
    if (this.config.secrets.dir && existsSync(this.config.secrets.dir)) {
      try {
        this.watcher = watch(this.config.secrets.dir, () => this.refresh());
        this.watcher.on('error', () => undefined);
        // Never what keeps a process alive (a start that failed, a script).
        this.watcher.unref();
      } catch {
        // Polling alone still sees every change.
      }
    }
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    for (const expiry of this.expiries) clearTimeout(expiry);
  }

  /** True when the secret has a value (false only for an optional secret that is absent). */
  has(name: string): boolean {
    this.load();
    return this.secrets.has(name);
  }

  /** The current value. @throws Error for a secret nobody declared, or an absent optional one (a programming error) */
  get(name: string): string {
    return this.state(name).value;
  }

  /** The values accepted now: the current one first, then the previous one during its grace window or while `<ENV>_PREVIOUS` is set. */
  accepted(name: string): string[] {
    const state = this.state(name);
    const values = [state.value];
    if (state.previous && state.previous.until > Date.now()) values.push(state.previous.value);
    if (state.configuredPrevious && !values.includes(state.configuredPrevious)) values.push(state.configuredPrevious);
    return values;
  }

  /** Every declared secret: name, source, version, last rotation, consumers. Never a value. */
  describe(): SecretDescription[] {
    return [...this.secrets.values()].map((s) => ({
      name: s.definition.name,
      description: s.definition.description,
      source: s.source,
      version: s.version,
      rotatedAt: s.rotatedAt?.toISOString() ?? null,
      previous:
        s.previous && s.previous.until > Date.now()
          ? { version: s.previous.version, acceptedUntil: new Date(s.previous.until).toISOString() }
          : null,
      consumers: s.definition.consumers,
    }));
  }

  /**
   * The optional secrets that are not configured (no value from any source): what takes their
   * place is in each description (e.g. the password in `REDIS_URL`).
   */
  describeAbsent(): { name: string; description: string; consumers: string[] }[] {
    return this.definitions
      .filter((definition) => !this.secrets.has(definition.name))
      .map((definition) => ({
        name: definition.name,
        description: definition.description,
        consumers: definition.consumers,
      }));
  }

  /** Calls `listener` with a secret's name and what changed (rotation, end of grace, refused value); returns the unsubscribe function. */
  onChange(listener: (name: string, change: SecretChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads every source again and applies what changed (also run by the poll timer). */
  refresh(): void {
    for (const definition of this.definitions) {
      const state = this.secrets.get(definition.name);
      if (!state) {
        this.appear(definition);
        continue;
      }
      const loaded = this.read(state.definition);
      if (
        !loaded ||
        loaded.value === state.value ||
        SOURCE_RANK[loaded.source] > SOURCE_RANK[state.source] ||
        loaded.source === 'development-default'
      ) {
        state.candidate = undefined;
        continue;
      }
      // Two identical reads in a row: a file caught half-written is never taken into use.
      if (state.candidate !== loaded.value) {
        state.candidate = loaded.value;
        continue;
      }
      state.candidate = undefined;
      const problem = state.definition.validate(loaded.value);
      const version = versionOf(loaded.value);
      if (problem) {
        if (state.refusedVersion === version) continue;
        state.refusedVersion = version;
        this.metrics.secretErrors.labels(state.definition.name).inc();
        this.logger.error(
          { secretName: state.definition.name, version, problem },
          'Secret change refused: the current value stays in use',
        );
        this.emit(state.definition.name, 'refused');
        continue;
      }
      this.rotate(state, loaded, version);
    }
  }

  /** An optional secret that was absent has a value now: taken into use as a rotation without a previous value. */
  private appear(definition: SecretDefinition): void {
    const loaded = this.read(definition);
    if (!loaded) return;
    const problem = definition.validate(loaded.value);
    if (problem) {
      this.metrics.secretErrors.labels(definition.name).inc();
      this.logger.error(
        { secretName: definition.name, problem },
        'Secret change refused: the current value stays in use',
      );
      this.emit(definition.name, 'refused');
      return;
    }
    registerSecretValue(loaded.value);
    const version = versionOf(loaded.value);
    this.secrets.set(definition.name, { ...loaded, definition, version, rotatedAt: new Date() });
    this.metrics.secretRotations.labels(definition.name).inc();
    this.logger.log({ secretName: definition.name, version }, 'Secret rotated');
    this.emit(definition.name, 'rotated');
  }

  private rotate(state: SecretState, loaded: Loaded, version: string): void {
    registerSecretValue(loaded.value);
    // A previous value still in its grace window is replaced: it is no longer accepted anywhere.
    if (state.previous) this.forget(state, state.previous.value);
    const graceMs = this.config.secrets.graceSeconds * 1000;
    const previous = { value: state.value, version: state.version, until: Date.now() + graceMs };
    Object.assign(state, {
      value: loaded.value,
      source: loaded.source,
      version,
      rotatedAt: new Date(),
      previous: graceMs > 0 ? previous : undefined,
    });
    if (graceMs === 0) this.forget(state, previous.value);
    this.metrics.secretRotations.labels(state.definition.name).inc();
    this.logger.log(
      {
        secretName: state.definition.name,
        version,
        previousVersion: previous.version,
        previousAcceptedSeconds: this.config.secrets.graceSeconds,
      },
      'Secret rotated',
    );
    this.emit(state.definition.name, 'rotated');
    if (graceMs > 0) {
      const expiry = setTimeout(() => {
        this.expiries.delete(expiry);
        if (state.previous === previous) {
          this.forget(state, previous.value);
          this.emit(state.definition.name, 'previous_expired');
        }
      }, graceMs).unref();
      this.expiries.add(expiry);
    }
  }

  /** Stops redacting a value no longer accepted (unless it is still the current or the configured previous one). */
  private forget(state: SecretState, value: string): void {
    if (value !== state.value && value !== state.configuredPrevious) unregisterSecretValue(value);
  }

  private emit(name: string, change: SecretChange): void {
    for (const listener of this.listeners) {
      try {
        listener(name, change);
      } catch (err) {
        // A consumer refusing the new value must not end the process (this runs from a timer).
        this.logger.error({ err, secretName: name, change }, 'A secret consumer failed to apply a change');
      }
    }
  }

  private state(name: string): SecretState {
    this.load();
    const state = this.secrets.get(name);
    if (!state) throw new Error(`secret "${name}" is not declared`);
    return state;
  }

  /** The value from the first source that has one. */
  private read(definition: SecretDefinition): Loaded | undefined {
    const envName = envNameOf(definition.name);
    const fromFile = (file: string): string | undefined => {
      try {
        return clean(readFileSync(file, 'utf8'));
      } catch {
        return undefined;
      }
    };
    if (this.config.secrets.dir) {
      const value = fromFile(path.join(this.config.secrets.dir, definition.name));
      if (value !== undefined) return { value, source: 'secrets-dir' };
    }
    const file = this.env[`${envName}_FILE`];
    if (file) {
      const value = fromFile(file);
      if (value !== undefined) return { value, source: 'file' };
    }
    const value = this.env[envName];
    if (value) return { value, source: 'env' };
    if (definition.developmentDefault !== undefined && this.config.env !== 'production')
      return { value: definition.developmentDefault, source: 'development-default' };
    return undefined;
  }
}
