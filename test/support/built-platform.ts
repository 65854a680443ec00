import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Builds `dist/` (`nest build`) unless it is newer than every source file: fault tests run the platform as production does. */
export function buildPlatformIfStale(): void {
  const entry = path.join(ROOT, 'dist/src/main.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const full = path.join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const sources = Math.max(...['src', 'libs', 'apps', 'migrations'].map((d) => newest(path.join(ROOT, d))));
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
  execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

/** A TCP port free on 127.0.0.1 right now (for a process that must keep its port across a restart). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The built platform in a child process (`node dist/src/main.js`), listening. */
export interface ChildPlatform {
  child: ChildProcessWithoutNullStreams;
  /** Base URL of the API. */
  url: string;
  /** The issuer it trusts (the development provider it started). */
  issuer: string;
  /** Resolves with the exit code, or the signal's name, when the process ends. */
  exited: Promise<number | string | null>;
  /** The end of what it wrote to stdout and stderr so far. */
  output: () => string;
}

/**
 * Starts `node dist/src/main.js` with exactly `env` and resolves once it logs "Platform listening".
 *
 * @throws Error with the end of its output when it exits before listening
 */
export function startBuiltPlatform(env: NodeJS.ProcessEnv): Promise<ChildPlatform> {
  const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let buffered = '';
  let listening = false;
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  return new Promise((resolve, reject) => {
    // Needs LOG_LEVEL info or lower: the "Platform listening" line says where it listens.
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      if (listening) return;
      for (const line of buffered.split('\n')) {
        if (!line.includes('"Platform listening"')) continue;
        listening = true;
        const entry = JSON.parse(line) as { url: string; issuer: string };
        resolve({ child, url: entry.url, issuer: entry.issuer, exited, output: () => buffered.slice(-20_000) });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (buffered += chunk.toString()));
    child.on('exit', () => reject(new Error(`platform exited before listening: ${buffered.slice(-2000)}`)));
  });
}
