import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PolicyService } from '@platform/auth';
import { RateLimiter } from '@platform/auth/testing';
import { SecretsService, type SecretChange } from '@platform/secrets';
import { TestPlatform } from '../support/test-platform';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A volume as kubelet lays out a ConfigMap or Secret (its AtomicWriter): the files live in a
 * timestamped folder, `..data` links to it, and each visible name links to `..data/<name>`. An
 * update writes a new timestamped folder, points a temporary link at it, renames that link over
 * `..data` (one atomic step: every visible file changes at once) and deletes the old folder. The
 * visible files themselves are never written, so a watcher on them sees no write event.
 */
class KubeletVolume {
  private generation = 0;
  private current?: string;
  constructor(readonly dir: string) {}

  /** Publishes `files` (name -> content) as the volume's new content. */
  publish(files: Record<string, string>): void {
    const stamp = `..2026_12_01_00_00_00.${String(++this.generation).padStart(9, '0')}`;
    mkdirSync(path.join(this.dir, stamp));
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(this.dir, stamp, name), content);
    symlinkSync(stamp, path.join(this.dir, '..data_tmp'));
    renameSync(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(path.join('..data', name), path.join(this.dir, name));
      } catch {
        // already linked through ..data
      }
    }
    if (this.current) rmSync(path.join(this.dir, this.current), { recursive: true, force: true });
    this.current = stamp;
  }
}

const POLICY = readFileSync(path.join(ROOT, 'config/policy.yaml'), 'utf8');
const LIMITS = 'windowSeconds: 60\ndefaults: { user: 600, service: 1200, agent: 600, anonymous: 300 }\n';
const SECRET_V1 = 'k8s-webhook-secret-version-one';
const SECRET_V2 = 'k8s-webhook-secret-version-two';

describe('ConfigMap and Secret volumes: a kubelet ..data symlink swap is picked up without a restart', () => {
  let platform: TestPlatform;
  let base: string;
  let config: KubeletVolume;
  let secrets: KubeletVolume;
  /** Resolves with the outcome of the next reload of the policy or of the rate limits. */
  const nextReload = (source: { onReload(listener: (applied: boolean) => void): () => void }) =>
    new Promise<boolean>((resolve) => {
      const off = source.onReload((applied) => {
        off();
        resolve(applied);
      });
    });

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'kubelet-volumes-'));
    config = new KubeletVolume(path.join(base, 'policy'));
    secrets = new KubeletVolume(path.join(base, 'secrets'));
    mkdirSync(config.dir);
    mkdirSync(secrets.dir);
    config.publish({ 'policy.yaml': POLICY, 'rate-limits.yaml': LIMITS });
    secrets.publish({ 'billing-webhook-secret': `${SECRET_V1}\n` });
    platform = await TestPlatform.start({
      POLICY_FILE: path.join(config.dir, 'policy.yaml'),
      RATE_LIMITS_FILE: path.join(config.dir, 'rate-limits.yaml'),
      SECRETS_DIR: secrets.dir,
      SECRETS_POLL_INTERVAL_MS: '200',
    });
  });
  afterAll(async () => {
    await platform?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('policy.yaml and rate-limits.yaml: both reload after one swap of the ConfigMap, and the new content is in force', async () => {
    const policy = platform.running.app.get(PolicyService);
    const limiter = platform.running.app.get(RateLimiter);
    expect(Object.keys(policy.current.roles)).not.toContain('k8s-auditor');
    const policyReloaded = nextReload(policy);
    const limitsReloaded = nextReload(limiter);
    const document = parse(POLICY) as { roles: Record<string, unknown> };
    document.roles['k8s-auditor'] = {
      description: 'Added through the ConfigMap',
      permissions: ['platform:audit:read'],
    };
    const edited = stringify(document);
    config.publish({ 'policy.yaml': edited, 'rate-limits.yaml': LIMITS.replace('user: 600', 'user: 5') });
    expect(await policyReloaded).toBe(true);
    expect(await limitsReloaded).toBe(true);
    expect(Object.keys(platform.running.app.get(PolicyService).current.roles)).toContain('k8s-auditor');
    const decision = await limiter.consume('analytics', 'user', `k8s-${Date.now()}`);
    expect(decision?.limit).toBe(5);
  });

  it('an invalid policy published by a swap is refused and the one in force stays', async () => {
    const policy = platform.running.app.get(PolicyService);
    const before = Object.keys(policy.current.roles);
    const reloaded = nextReload(policy);
    config.publish({
      'policy.yaml': 'roles:\n  broken:\n    permissions: [nobody:declares:this]\n',
      'rate-limits.yaml': LIMITS,
    });
    expect(await reloaded).toBe(false);
    expect(Object.keys(policy.current.roles)).toEqual(before);
  });

  it('a Secret volume swap rotates the webhook secret', async () => {
    const service = platform.running.app.get(SecretsService);
    expect(service.get('billing-webhook-secret')).toBe(SECRET_V1);
    const rotated = new Promise<void>((resolve) => {
      const off = service.onChange((name, change: SecretChange) => {
        if (name !== 'billing-webhook-secret' || change !== 'rotated') return;
        off();
        resolve();
      });
    });
    secrets.publish({ 'billing-webhook-secret': `${SECRET_V2}\n` });
    await rotated;
    expect(service.get('billing-webhook-secret')).toBe(SECRET_V2);
    expect(service.accepted('billing-webhook-secret')).toEqual([SECRET_V2, SECRET_V1]);
  });
});
