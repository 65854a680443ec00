/**
 * The architecture's import rules, checked by `npm run lint:boundaries` (docs/architecture.md, "Layout and rules").
 * Paths are relative to the repository root; `@platform/<lib>` and `@apps/<app>` resolve through tsconfig.json `paths`
 * to `libs/<lib>/src/index.ts` and `apps/<app>/src/index.ts`, so "through the index" means "to that index.ts file".
 */
const fs = require('node:fs');
const path = require('node:path');

/** Feature apps, read from the folder so that a generated app is covered without editing this file. */
const apps = fs
  .readdirSync(path.join(__dirname, 'apps'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
/** A file of a lib or app other than its public index (and, for libs, its `testing` entry point). */
const libInternal = '^libs/[^/]+/src/(?!index\\.ts$|testing\\.ts$)';
/** Test code: unit specs, e2e specs and their support files. */
const testCode = '(\\.spec\\.ts$|\\.e2e-spec\\.ts$|^test/)';
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

module.exports = {
  forbidden: [
    {
      name: 'no-cross-app',
      comment:
        'A feature app never imports another app (not even its index): apps talk to the platform through @platform/* only.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'app-not-to-root',
      comment: 'A feature app never imports the root app (src/): what it needs from the platform is a lib.',
      severity: 'error',
      from: { path: '^apps/' },
      to: { path: '^src/' },
    },
    {
      name: 'lib-not-to-app-or-root',
      comment: 'A lib never imports a feature app or the root app (src/): libs sit below both.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^(apps|src)/' },
    },
    {
      name: 'lib-deep-import-from-lib',
      comment: 'A lib uses another lib only through its index (@platform/<lib>), never one of its files.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: { path: libInternal, pathNot: '^libs/$1/' },
    },
    {
      name: 'lib-deep-import',
      comment: 'Outside libs, a lib is used only through its index (@platform/<lib>), never one of its files.',
      severity: 'error',
      from: { pathNot: '^libs/' },
      to: { path: libInternal },
    },
    {
      name: 'lib-index-by-relative-path',
      comment: 'A lib is imported by its alias (@platform/<lib>), not by a relative path into libs/.',
      severity: 'error',
      from: { path: '^libs/([^/]+)/' },
      to: {
        path: '^libs/',
        pathNot: '^libs/$1/',
        dependencyTypesNot: ['aliased-tsconfig-paths', 'aliased-tsconfig', 'aliased'],
      },
    },
    {
      name: 'lib-index-by-relative-path-outside-libs',
      comment: 'A lib is imported by its alias (@platform/<lib>), not by a relative path into libs/.',
      severity: 'error',
      from: { pathNot: '^libs/' },
      to: { path: '^libs/', dependencyTypesNot: ['aliased-tsconfig-paths', 'aliased-tsconfig', 'aliased'] },
    },
    {
      name: 'deep-alias',
      comment: 'Only the index (@platform/<lib>) and the testing entry point (@platform/<lib>/testing) are importable.',
      severity: 'error',
      from: {},
      to: { path: '^@(platform|apps)/[^/]+/(?!testing$)' },
    },
    {
      name: 'testing-entry-from-tests-only',
      comment: "A lib's testing entry point (@platform/<lib>/testing) serves tests only.",
      severity: 'error',
      from: { pathNot: testCode },
      to: { path: '^libs/[^/]+/src/testing\\.ts$' },
    },
    // An app's internals: only the app itself and its own tests (apps/<app>/**, test/e2e/<app>*.e2e-spec.ts).
    ...apps.map((app) => ({
      name: 'app-internals',
      comment: `Only ${app} and its own tests (test/e2e/${app}*.e2e-spec.ts) reach into apps/${app}/src; everyone else uses @apps/${app}.`,
      severity: 'error',
      from: { pathNot: `^(apps/${esc(app)}/|test/e2e/${esc(app)}[^/]*\\.e2e-spec\\.ts$)` },
      to: { path: `^apps/${esc(app)}/src/(?!index\\.ts$)` },
    })),
    {
      name: 'app-index-from-root-only',
      comment:
        'Only the root app (src/, which composes the apps) and tests import a feature app by its index (@apps/<app>).',
      severity: 'error',
      from: { path: '^(libs|scripts|bench)/', pathNot: testCode },
      to: { path: '^apps/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included (a type cycle between libs is still a layering cycle).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves (a deep alias such as @platform/<lib>/src/x does not).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // src/openapi-metadata.ts is generated (npm run openapi:metadata) and names every DTO file by path.
    exclude: { path: '((^|/)dist/|^src/openapi-metadata\\.ts$)' },
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.cjs', '.mjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
