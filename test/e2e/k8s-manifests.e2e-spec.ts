import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  kustomizeAvailable,
  overlays,
  parseManifests,
  readResourceFiles,
  renderKustomization,
  schemaProblems,
  validateManifests,
  type Manifest,
} from '../../scripts/k8s/manifests';

const ROOT = path.resolve(__dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');
const base = () => readResourceFiles(path.join(DEPLOY, 'base'));
const deploymentOf = (manifests: Manifest[]) =>
  manifests.find((m) => m.kind === 'Deployment') as Manifest & {
    spec: {
      replicas: unknown;
      template: { spec: { terminationGracePeriodSeconds: number; containers: Record<string, unknown>[] } };
    };
  };

describe('Kubernetes manifests: schema validation (kubernetes-models)', () => {
  it('every object of deploy/base is valid against the Kubernetes API schemas', () => {
    const manifests = base();
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      'Deployment',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    expect(schemaProblems(manifests)).toEqual([]);
    expect(validateManifests(manifests)).toEqual([]);
  });

  it('refuses a wrong type, a wrong enum value and an unknown kind, naming the object and the field', () => {
    const manifests = base();
    deploymentOf(manifests).spec.replicas = 'three';
    const service = manifests.find((m) => m.kind === 'Service') as Manifest & {
      spec: { ports: { protocol: string }[] };
    };
    service.spec.ports[0].protocol = 'HTTP';
    manifests.push({ apiVersion: 'apps/v1', kind: 'Deploymant', metadata: { name: 'typo' } });
    const problems = schemaProblems(manifests);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Deployment\/identity-platform: .*replicas must be integer/),
        expect.stringMatching(/^Service\/identity-platform: .*protocol/),
        'Deploymant/typo: no schema for apps/v1 Deploymant',
      ]),
    );
  });

  it("refuses a ServiceMonitor that breaks the Prometheus Operator's CRD schema", () => {
    const manifests = base();
    const monitor = manifests.find((m) => m.kind === 'ServiceMonitor') as Manifest & {
      spec: { endpoints: { interval: unknown }[] };
    };
    monitor.spec.endpoints[0].interval = 30;
    expect(schemaProblems(manifests)).toEqual([
      expect.stringMatching(/^ServiceMonitor\/identity-platform: .*interval/),
    ]);
  });

  it('refuses YAML that does not parse', () => {
    expect(() => parseManifests('kind: Service\n  metadata: [\n')).toThrow(/YAML/);
  });
});

describe("Kubernetes manifests: the platform's own rules", () => {
  it('a ConfigMap mounted with subPath (never updated: no hot reload) is refused', () => {
    const manifests = base();
    const container = deploymentOf(manifests).spec.template.spec.containers[0] as {
      volumeMounts: { name: string; subPath?: string }[];
    };
    container.volumeMounts.find((m) => m.name === 'policy')!.subPath = 'policy.yaml';
    expect(validateManifests(manifests)).toEqual([expect.stringContaining('volume policy is mounted with subPath')]);
  });

  it('readiness on /health/live, a missing startup probe, a writable root and a grace period shorter than preStop + drain are refused', () => {
    const manifests = base();
    const pod = deploymentOf(manifests).spec.template.spec;
    const container = pod.containers[0] as Record<
      string,
      { httpGet?: { path: string; port: string }; readOnlyRootFilesystem?: boolean } | undefined
    >;
    container.readinessProbe = { httpGet: { path: '/health/live', port: 'http' } };
    delete container.startupProbe;
    container.securityContext = { ...container.securityContext, readOnlyRootFilesystem: false };
    pod.terminationGracePeriodSeconds = 12;
    const problems = validateManifests(manifests);
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('startupProbe must be an httpGet'),
        expect.stringContaining('readinessProbe must use /health/ready'),
        expect.stringContaining('terminationGracePeriodSeconds (12) must leave at least 15 s'),
        expect.stringContaining('readOnlyRootFilesystem must be true'),
      ]),
    );
  });
});

const KUSTOMIZE = kustomizeAvailable();
if (!KUSTOMIZE) {
  process.stdout.write(
    '[e2e] Kubernetes overlays rendered with kubectl kustomize: SKIPPED (kubectl is not installed; not required, .ci/run does not install it); deploy/base is still validated\n',
  );
}

describe.runIf(KUSTOMIZE)('Kubernetes manifests: overlays rendered with kubectl kustomize', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'k8s-overlay-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('dev and prod render and validate; prod runs 3 replicas with its ConfigMap named stably (hot reload) and the policy file inside', () => {
    const rendered = Object.fromEntries(overlays(DEPLOY).map((dir) => [path.basename(dir), renderKustomization(dir)]));
    expect(Object.keys(rendered).sort()).toEqual(['dev', 'prod']);
    for (const manifests of Object.values(rendered)) expect(validateManifests(manifests)).toEqual([]);
    const prod = rendered.prod;
    expect(deploymentOf(prod).spec.replicas).toBe(3);
    const policy = prod.find((m) => m.kind === 'ConfigMap' && m.metadata?.name === 'platform-policy') as Manifest & {
      data: Record<string, string>;
    };
    expect(policy.data['policy.yaml']).toBe(readFileSync(path.join(ROOT, 'config/policy.yaml'), 'utf8'));
    expect(Object.keys(policy.data).sort()).toEqual(['policy.yaml', 'rate-limits.yaml']);
    expect(prod.map((m) => m.kind)).toEqual(
      expect.arrayContaining(['PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ServiceMonitor']),
    );
  });

  it('npm run k8s:validate exits 1 and names the problem for an overlay that breaks the schema', () => {
    const overlay = path.join(scratch, 'broken');
    execFileSync('mkdir', ['-p', overlay]);
    writeFileSync(
      path.join(overlay, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${path.relative(overlay, path.join(DEPLOY, 'base'))}`,
        'patches:',
        '  - target: { kind: Deployment }',
        '    patch: |-',
        '      - op: replace',
        '        path: /spec/replicas',
        '        value: "three"',
        '',
      ].join('\n'),
    );
    let result: { code: number; out: string } = { code: 0, out: '' };
    try {
      execFileSync(
        process.execPath,
        [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/k8s-validate.ts'), overlay],
        { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (err) {
      result = { code: (err as { status: number }).status, out: String((err as { stdout: string }).stdout) };
    }
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/Deployment\/identity-platform: .*replicas must be integer/);
  });
});
