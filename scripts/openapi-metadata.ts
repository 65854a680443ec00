/**
 * Regenerates `src/openapi-metadata.ts`: the OpenAPI metadata of every DTO and route (property
 * types, optionality, class-validator constraints, and descriptions from doc comments), as the
 * @nestjs/swagger compiler plugin would emit it. Generated ahead of time, so that every compiler
 * (tsc for the build, SWC under Vitest) serves the same document.
 *
 *   npm run openapi:metadata        # after changing a DTO or a controller
 */
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the subpath has no types under CommonJS resolution
const { ReadonlyVisitor } = require('@nestjs/swagger/plugin') as typeof import('@nestjs/swagger/dist/plugin');
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
new PluginMetadataGenerator().generate({
  visitors: [
    new ReadonlyVisitor({
      introspectComments: true,
      pathToSource: path.join(root, 'src'),
      classValidatorShim: true,
      dtoFileNameSuffix: ['.dto.ts', 'pagination.ts'],
    }),
  ],
  outputDir: path.join(root, 'src'),
  filename: 'openapi-metadata.ts',
  watch: false,
  tsconfigPath: 'tsconfig.build.json',
});

// The plugin names an intersection type's response as the module's `Object` export, which does
// not exist: it is a plain object, which OpenAPI describes as `Object`.
const file = path.join(root, 'src', 'openapi-metadata.ts');
writeFileSync(file, readFileSync(file, 'utf8').replace(/t\["[^"]+"\]\.Object\b/g, 'Object'));
