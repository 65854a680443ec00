/**
 * npm run k8s:validate [folder...]: renders each kustomize overlay under deploy/overlays (or the
 * folders given) with `kubectl kustomize` and validates every object against the Kubernetes API
 * schemas shipped in the kubernetes-models package, then against the platform's own rules
 * (scripts/k8s/manifests.ts). Where kubectl is absent, the base's plain resource files are
 * validated instead and the run says so. Exit code 1 on any problem.
 */
import * as path from 'node:path';
import {
  kustomizeAvailable,
  overlays,
  readResourceFiles,
  renderKustomization,
  validateManifests,
  schemaProblems,
} from './k8s/manifests';

const deployDir = path.resolve(__dirname, '../deploy');
const targets =
  process.argv.slice(2).length > 0 ? process.argv.slice(2).map((p) => path.resolve(p)) : overlays(deployDir);
let failed = false;

if (kustomizeAvailable()) {
  for (const dir of targets) {
    const label = path.relative(process.cwd(), dir) || dir;
    let problems: string[];
    let count = 0;
    try {
      const manifests = renderKustomization(dir);
      count = manifests.length;
      problems = validateManifests(manifests);
    } catch (err) {
      problems = [`kustomize: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`];
    }
    if (problems.length > 0) {
      failed = true;
      process.stdout.write(
        `[k8s] ${label}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
      );
    } else {
      process.stdout.write(`[k8s] ${label}: ${count} objects valid\n`);
    }
  }
} else {
  // Only the schema: the platform's rules need the overlays' patches applied.
  const base = path.join(deployDir, 'base');
  const manifests = readResourceFiles(base);
  const problems = schemaProblems(manifests);
  process.stdout.write(
    `[k8s] SKIPPED: rendering the overlays (${targets.map((t) => path.relative(process.cwd(), t) || t).join(', ')}) and checking the platform's rules on them: kubectl is not installed (not required; install kubectl to run these checks)\n` +
      `[k8s] ${manifests.length} objects of deploy/base checked against the schemas only\n`,
  );
  if (problems.length > 0) {
    failed = true;
    process.stdout.write(problems.map((p) => `  - ${p}`).join('\n') + '\n');
  }
}
process.exit(failed ? 1 : 0);
