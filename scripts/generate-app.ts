/**
 * Generates a feature app: manifest (permissions, machine scopes), module, controller, service,
 * repository, DTOs with validation and OpenAPI, a Drizzle schema and its migration, an e2e spec;
 * registers it in every shared file (tsconfig.json paths, vitest.config.mts aliases,
 * nest-cli.json, src/feature-apps.ts, config/policy.yaml role and scopes), then regenerates the
 * OpenAPI metadata and the access map. Refuses an invalid or existing name and changes nothing then.
 *
 *   npm run generate:app -- inventory
 *   npm run generate:app -- fleet-ops --resource vehicle
 *
 * Exit code 0 when the app was generated and registered; 1 with the reason on stderr (bad or
 * existing name, a failed step).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { appFiles, namesFor, policyAdditions, type Names } from './generate-app/templates';
import { exitWithHelpIfAsked } from './lib/help';

exitWithHelpIfAsked(__filename);

const root = path.resolve(__dirname, '..');
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Route prefixes and names the platform or its apps already use. */
const RESERVED = new Set([
  'platform',
  'health',
  'metrics',
  'docs',
  'users',
  'service-accounts',
  'apps',
  'libs',
  'test',
  'src',
  'api',
]);

const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
};

/** Inserts `insert` after the last line matching `anchor`; throws when there is none (the file changed shape). */
function afterLast(
  file: string,
  text: string,
  anchor: RegExp,
  insert: (line: string) => { line: string; added: string },
): string {
  const lines = text.split('\n');
  const at = lines
    .map((l, i) => (anchor.test(l) ? i : -1))
    .filter((i) => i >= 0)
    .at(-1);
  if (at === undefined)
    throw new Error(`${file}: found no line matching ${anchor}; register the app by hand (docs/adding-an-app.md)`);
  const { line, added } = insert(lines[at]);
  lines.splice(at, 1, line, added);
  return lines.join('\n');
}

/** Every shared file the new app must be registered in: file -> new content. */
function registrations(n: Names): Record<string, string> {
  const out: Record<string, string> = {};
  out['tsconfig.json'] = afterLast(
    'tsconfig.json',
    read('tsconfig.json'),
    /^\s*"@apps\/[^"]+": \["apps\/[^"]+"\],?$/,
    (line) => {
      const indent = /^\s*/.exec(line)?.[0] ?? '';
      const last = !line.trimEnd().endsWith(',');
      return {
        line: last ? `${line},` : line,
        added: `${indent}"@apps/${n.app}": ["apps/${n.app}/src"]${last ? '' : ','}`,
      };
    },
  );
  out['vitest.config.mts'] = afterLast(
    'vitest.config.mts',
    read('vitest.config.mts'),
    /^\s*'@apps\/[^']+': r\('apps\/[^']+'\),$/,
    (line) => ({
      line,
      added: `${/^\s*/.exec(line)?.[0] ?? ''}'@apps/${n.app}': r('apps/${n.app}/src'),`,
    }),
  );
  out['nest-cli.json'] = afterLast(
    'nest-cli.json',
    read('nest-cli.json'),
    /^\s*"[^"]+": \{ "type": "library", "root": "apps\/[^"]+", "sourceRoot": "apps\/[^"]+" \},$/,
    (line) => ({
      line,
      added: `${/^\s*/.exec(line)?.[0] ?? ''}"${n.app}": { "type": "library", "root": "apps/${n.app}", "sourceRoot": "apps/${n.app}/src" },`,
    }),
  );
  let features = afterLast(
    'src/feature-apps.ts',
    read('src/feature-apps.ts'),
    /^import .* from '@apps\/[^']+';$/,
    (line) => ({
      line,
      added: `import { ${n.App}Module, ${n.APP}_APP } from '@apps/${n.app}';`,
    }),
  );
  features = afterLast(
    'src/feature-apps.ts',
    features,
    /^\s*\{ manifest: [A-Z_]+_APP, module: [A-Za-z]+Module \},$/,
    (line) => ({
      line,
      added: `${/^\s*/.exec(line)?.[0] ?? ''}{ manifest: ${n.APP}_APP, module: ${n.App}Module },`,
    }),
  );
  out['src/feature-apps.ts'] = features;
  const { role, scopes } = policyAdditions(n);
  const policy = read('config/policy.yaml');
  const mappings = policy.search(/^roleMappings:/m);
  if (mappings < 0 || !/^scopes:/m.test(policy.slice(mappings)))
    throw new Error(
      'config/policy.yaml: expected roles, then roleMappings, then scopes (last); add the role and scopes by hand',
    );
  out['config/policy.yaml'] =
    `${policy.slice(0, mappings).replace(/\n*$/, '\n')}${role}\n${policy.slice(mappings).replace(/\n*$/, '\n')}${scopes}`;
  return out;
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { resource: { type: 'string' }, 'skip-derived': { type: 'boolean' } },
  });
  const [app] = positionals;
  const resource = values.resource ?? 'item';
  if (!app || positionals.length !== 1) throw new Error('usage: npm run generate:app -- <name> [--resource <noun>]');
  for (const [what, value] of [
    ['app name', app],
    ['resource', resource],
  ]) {
    if (!NAME.test(value) || value.length > 40)
      throw new Error(
        `invalid ${what} "${value}": lower-case letters and digits, words joined by single dashes, starting with a letter (at most 40)`,
      );
  }
  if (RESERVED.has(app)) throw new Error(`"${app}" is reserved by the platform (${[...RESERVED].join(', ')})`);
  if (existsSync(path.join(root, 'apps', app))) throw new Error(`apps/${app} exists: choose another name`);
  if (
    read('src/feature-apps.ts').includes(`'@apps/${app}'`) ||
    new RegExp(`prefix: '/${app}'`).test(read('src/feature-apps.ts'))
  )
    throw new Error(`an app named "${app}" is registered already`);
  const n = namesFor(app, resource);
  // Everything is computed first, so that a refusal leaves every file as it was.
  const files = { ...appFiles(n), ...registrations(n) };
  for (const [file, text] of Object.entries(files)) write(file, text);
  process.stdout.write(
    `generated apps/${app} and test/e2e/${app}.e2e-spec.ts; registered in tsconfig.json, vitest.config.mts, nest-cli.json, src/feature-apps.ts, config/policy.yaml\n`,
  );
  if (values['skip-derived']) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, ['run', '--silent', 'db:generate', '--', '--name', `${n.appSnake}_${n.ressSnake}`]);
  run(npm, ['run', '--silent', 'openapi:metadata']);
  run(npm, ['run', '--silent', 'access-map']);
  process.stdout.write(
    `next: npx vitest run test/e2e/${app}.e2e-spec.ts; give people the ${app}-member role (config/policy.yaml)\n`,
  );
}

try {
  main();
} catch (err) {
  process.stderr.write(`generate:app: ${(err as Error).message}\n`);
  process.exit(1);
}
