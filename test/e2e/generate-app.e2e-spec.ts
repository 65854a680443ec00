import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');
const SHARED = ['tsconfig.json', 'vitest.config.mts', 'nest-cli.json', 'src/feature-apps.ts', 'config/policy.yaml'];

/** Runs the generator; its success path is exercised by scripts/ci-generated-app.sh in a scratch copy. */
async function generate(args: string[]): Promise<{ code: number; stderr: string }> {
  return promisify(execFile)(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/generate-app.ts', ...args],
    { cwd: root },
  ).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
}

describe('npm run generate:app refuses, changing nothing', () => {
  const cases: [string, string[], RegExp][] = [
    ['an existing app', ['billing'], /apps\/billing exists/],
    ['an invalid name', ['Inventory_2'], /invalid app name "Inventory_2"/],
    ['a reserved name', ['platform'], /"platform" is reserved/],
    ['an invalid resource', ['stock', '--resource', 'Item!'], /invalid resource "Item!"/],
    ['no name', [], /usage: npm run generate:app -- <name>/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const before = SHARED.map((f) => readFileSync(path.join(root, f), 'utf8'));
      const result = await generate(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(SHARED.map((f) => readFileSync(path.join(root, f), 'utf8'))).toEqual(before);
    });
  }
});
