import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { headerComment } from '../../scripts/lib/help';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** Every operator script, with a phrase its usage must name. */
const SCRIPTS: [script: string, phrase: string][] = [
  ['grant', 'npm run grant -- --subject <sub> --role <role>'],
  ['audit-verify', 'npm run audit:verify'],
  ['access-map', 'npm run access-map -- --check'],
  ['token', 'npm run --silent token -- --user bob'],
  ['generate-app', 'npm run generate:app -- inventory'],
];

describe('operator scripts: --help', () => {
  it.each(SCRIPTS)('%s --help prints its usage and exits 0 without touching anything', async (script, phrase) => {
    // No DATABASE_URL, no DATA_DIR, no running provider: help must not need any of them.
    const { stdout, stderr } = await promisify(execFile)(TSX, [`scripts/${script}.ts`, '--help'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    expect(stdout).toContain(phrase);
    expect(stdout).toMatch(/Exit code 0/);
    expect(stdout).not.toContain('/**');
    expect(stderr).toBe('');
  });

  it('-h is the same as --help, and the text is the file header a reader sees', async () => {
    const { stdout } = await promisify(execFile)(TSX, ['scripts/audit-verify.ts', '-h'], { cwd: ROOT });
    expect(stdout.trim()).toBe(headerComment(path.join(ROOT, 'scripts', 'audit-verify.ts')));
    expect(stdout).toMatch(/^Checks the audit trail's hash chain/);
  });
});
