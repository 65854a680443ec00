import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One Kubernetes object as rendered (plain JSON). */
export type Manifest = { apiVersion?: string; kind?: string; metadata?: { name?: string }; [key: string]: unknown };

/** A model class of kubernetes-models: built from an object, `validate()` throws on a schema violation. */
type ModelClass = new (data: unknown) => { validate(): void };

/**
 * The schema of an apiVersion/kind: the Kubernetes API's own OpenAPI schemas, shipped inside the
 * `kubernetes-models` package (and `@kubernetes-models/prometheus-operator` for the
 * ServiceMonitor CRD), so nothing is downloaded at validation time.
 *
 * @returns the model class, or undefined for a kind no schema covers
 */
function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  if (!/^[A-Za-z0-9.-]*\/?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return undefined;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const candidates =
    group === 'monitoring.coreos.com'
      ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
      : [group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`];
  for (const id of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module is chosen by name at run time, among candidates that may not exist
      const mod = require(id) as Record<string, ModelClass>;
      if (mod[kind]) return mod[kind];
    } catch {
      // no such model
    }
  }
  return undefined;
}

/** Parses a multi-document YAML stream into objects (empty documents skipped). @throws Error naming the first YAML syntax error */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0].message}`);
    const value = doc.toJSON() as Manifest | null;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

const name = (m: Manifest) => `${m.kind ?? '?'}/${m.metadata?.name ?? '?'}`;

/**
 * Checks each object against the Kubernetes API schema of its apiVersion/kind.
 * @returns one line per problem (`Kind/name: where message`); empty when every object is valid
 */
export function schemaProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  for (const manifest of manifests) {
    if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string') {
      problems.push(`${name(manifest)}: apiVersion and kind are required`);
      continue;
    }
    const Model = modelFor(manifest.apiVersion, manifest.kind);
    if (!Model) {
      problems.push(`${name(manifest)}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
      continue;
    }
    try {
      new Model(manifest).validate();
    } catch (err) {
      problems.push(`${name(manifest)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

type Probe = { httpGet?: { path?: string } };
type Container = {
  name?: string;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds?: number } } };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name?: string; subPath?: string }[];
};

/**
 * What the platform needs of its Deployment beyond the schema (docs/operations.md): the three
 * probes on the platform's health endpoints, a preStop pause shorter than the grace period, a
 * read-only root filesystem, non-root, and the ConfigMap mounted as a folder (a subPath mount is
 * never updated, so the hot reload would silently stop working).
 * @returns one line per problem; empty when the rendered set satisfies all of them
 */
export function platformProblems(manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const deployments = manifests.filter((m) => m.kind === 'Deployment');
  if (deployments.length === 0) problems.push('no Deployment');
  const healthPaths = new Set(['/health/live', '/health/ready']);
  for (const deployment of deployments) {
    const where = name(deployment);
    const spec = (deployment.spec ?? {}) as {
      template?: {
        spec?: {
          containers?: Container[];
          terminationGracePeriodSeconds?: number;
          securityContext?: { runAsNonRoot?: boolean };
        };
      };
    };
    const pod = spec.template?.spec ?? {};
    if (pod.securityContext?.runAsNonRoot !== true)
      problems.push(`${where}: securityContext.runAsNonRoot must be true`);
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    for (const container of pod.containers ?? []) {
      const at = `${where} container ${container.name}`;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const probePath = container[probe]?.httpGet?.path;
        if (!probePath || !healthPaths.has(probePath))
          problems.push(
            `${at}: ${probe} must be an httpGet on /health/live or /health/ready (got ${probePath ?? 'none'})`,
          );
      }
      if (container.readinessProbe?.httpGet?.path !== '/health/ready')
        problems.push(`${at}: readinessProbe must use /health/ready`);
      const preStop = container.lifecycle?.preStop;
      const pause =
        preStop?.sleep?.seconds ??
        (preStop?.exec?.command?.[0] === 'sleep' ? Number(preStop.exec.command[1]) : undefined);
      if (pause === undefined || !Number.isFinite(pause))
        problems.push(`${at}: lifecycle.preStop must pause (sleep) before SIGTERM`);
      else if (pause + 15 > grace)
        problems.push(
          `${at}: terminationGracePeriodSeconds (${grace}) must leave at least 15 s to drain after the ${pause} s preStop pause`,
        );
      if (container.securityContext?.readOnlyRootFilesystem !== true)
        problems.push(`${at}: securityContext.readOnlyRootFilesystem must be true`);
      if (container.securityContext?.allowPrivilegeEscalation !== false)
        problems.push(`${at}: securityContext.allowPrivilegeEscalation must be false`);
      for (const mount of container.volumeMounts ?? []) {
        if (mount.subPath !== undefined)
          problems.push(
            `${at}: volume ${mount.name} is mounted with subPath, which Kubernetes never updates (no hot reload)`,
          );
      }
    }
  }
  return problems;
}

/** Every problem of a rendered set: schema first, then the platform's own rules. */
export function validateManifests(manifests: Manifest[]): string[] {
  const schema = schemaProblems(manifests);
  return schema.length > 0 ? schema : platformProblems(manifests);
}

/** True when `kubectl kustomize` can render here. */
export function kustomizeAvailable(): boolean {
  try {
    execFileSync('kubectl', ['kustomize', '--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Renders a kustomization folder with `kubectl kustomize` (the policy files come from the
 * repository's config/, outside the folder, hence the load restrictor).
 * @throws Error with kustomize's message when rendering fails
 */
export function renderKustomization(dir: string): Manifest[] {
  const out = execFileSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseManifests(out);
}

/** Without kustomize: the plain resource files of a folder (patches and generators are not applied). */
export function readResourceFiles(dir: string): Manifest[] {
  const kustomization = parseManifests(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))[0] as {
    resources?: string[];
  };
  return (kustomization.resources ?? [])
    .map((r) => path.join(dir, r))
    .filter((file) => existsSync(file) && file.endsWith('.yaml'))
    .flatMap((file) => parseManifests(readFileSync(file, 'utf8')));
}

/** The overlays under `deploy/overlays`, as folders. */
export function overlays(deployDir: string): string[] {
  const root = path.join(deployDir, 'overlays');
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(root, e.name));
}
