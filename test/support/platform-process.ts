import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Builds the platform (`nest build`) unless dist/src/main.js is newer than every source file. */
export function buildIfStale(): void {
  const entry = path.join(ROOT, 'dist/src/main.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
      const full = path.join(dir, e.name);
      return Math.max(max, e.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }, 0);
  const sources = Math.max(...['src', 'libs', 'apps'].map((d) => newest(path.join(ROOT, d))));
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
  execFileSync('npx', ['nest', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

/** A free TCP port on 127.0.0.1 (free when asked: it is bound again by its user right after). */
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

/** The built platform running as its own process (`node dist/src/main.js`), as in production. */
export class PlatformProcess {
  /** Every line the process wrote to stdout and stderr, kept for failure messages. */
  output = '';
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcessWithoutNullStreams, readonly url: string, exited: Promise<number | null>) {
    this.exited = exited;
  }

  /**
   * Starts the process and resolves once it logs "Platform listening" (its log level must be
   * `info` or lower); killed when it does not within 60 s.
   * @param env its whole environment (PATH is added)
   * @throws Error with the end of its output when it exits before listening
   */
  static start(env: Record<string, string>): Promise<PlatformProcess> {
    const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let output = '';
    return new Promise((resolve, reject) => {
      let started: PlatformProcess | undefined;
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (started) {
          started.output = output.slice(-20_000);
          return;
        }
        const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"Platform listening"/.exec(output);
        if (match) {
          clearTimeout(timer);
          started = new PlatformProcess(child, match[1], exited);
          started.output = output;
          resolve(started);
        }
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      // Never left behind: a process that does not listen in time is killed.
      const timer = setTimeout(() => {
        if (!started) child.kill('SIGKILL');
      }, 60_000);
      child.on('exit', () => {
        clearTimeout(timer);
        if (!started) reject(new Error(`platform exited before listening: ${output.slice(-2000)}`));
      });
    });
  }

  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
