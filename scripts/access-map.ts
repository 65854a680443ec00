/**
 * Writes `access-map.md` and `access-map.json`: every route, the permission it needs, and which
 * roles, mapped identity-provider roles and scopes get it through the policy. Computed by the
 * platform's own route inventory and policy service (src/access-map).
 *
 *   npm run access-map                 # after changing a route's policy or config/policy.yaml
 *   npm run access-map -- --check      # CI: fails when the committed files are stale
 *   npm run access-map -- --policy other.yaml --out dir
 *
 * Exit code 0 when written (or, with --check, when the committed files are current); 1 when they
 * are stale (--check) or the map could not be computed (the reason on stderr).
 */
import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  buildAccessMap,
  loadPolicy,
  loadRouteInventory,
  renderAccessMapJson,
  renderAccessMapMarkdown,
} from '../src/access-map/access-map';
import { checkAccessMapFiles } from '../src/access-map/check';
import { exitWithHelpIfAsked } from './lib/help';

exitWithHelpIfAsked(__filename);

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const policyFile = path.resolve(root, option('--policy') ?? 'config/policy.yaml');
  const outDir = path.resolve(root, option('--out') ?? '.');
  const { routes, registry } = await loadRouteInventory();
  const map = buildAccessMap(routes, loadPolicy(policyFile, registry), path.relative(root, policyFile));
  const files = { 'access-map.md': renderAccessMapMarkdown(map), 'access-map.json': renderAccessMapJson(map) };
  if (args.includes('--check')) {
    const stale = checkAccessMapFiles(files, (name) =>
      existsSync(path.join(outDir, name)) ? readFileSync(path.join(outDir, name), 'utf8') : undefined,
    );
    if (stale) {
      process.stderr.write(`${stale}\n`);
      process.exit(1);
    }
    process.stdout.write('access-map.md and access-map.json are up to date\n');
    return;
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(outDir, name), text);
  process.stdout.write(
    `wrote access-map.md and access-map.json (${map.routes.length} routes, ${map.roles.length} roles, ${map.scopes.length} scopes)\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`access-map failed: ${err.message}\n`);
    process.exit(1);
  },
);
