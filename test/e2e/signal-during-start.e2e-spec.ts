import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/platform-process';
import { PGLITE_TEMPLATE_ENV } from '../support/global-setup';

const ROOT = path.resolve(__dirname, '../..');

describe('a stop signal while the platform starts', () => {
  it('stops cleanly once the start completes (exit code 0), not by the default signal death', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'signal-during-start-'));
    cpSync(process.env[PGLITE_TEMPLATE_ENV] as string, scratch, { recursive: true });
    try {
      const child = spawn(process.execPath, ['dist/src/main.js'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          HOST: '127.0.0.1',
          PORT: String(await freePort()),
          // The development OpenID provider starts too (no OIDC_ISSUER): on a free port as well.
          DEV_OIDC_PORT: String(await freePort()),
          DATA_DIR: scratch,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      let signalled = false;
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        // The database is open, the HTTP server not yet listening: the start is under way.
        if (!signalled && output.includes('Embedded PGlite database ready')) {
          signalled = true;
          child.kill('SIGTERM');
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      expect(signalled, output.slice(-2000)).toBe(true);
      expect({ code, signal }, output.slice(-2000)).toEqual({ code: 0, signal: null });
      expect(output).toContain('Stopped: audit trail flushed, database closed');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
