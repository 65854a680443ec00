import { randomInt } from 'node:crypto';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

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

/** Resolves whether `port` can be bound on 127.0.0.1 right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port for a process that must get the same port again after a restart (replicas behind a
 * load balancer, the development provider's issuer URL). freePort()'s ports come from the kernel's
 * ephemeral range, where another suite's listen(0) or outgoing connection can take one between the
 * stop and the start; this picks a random port outside that range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 when unreadable), between 10000 and 65535,
 * that is free when asked.
 * @throws Error when 200 random candidates are all taken
 */
export async function stablePort(): Promise<number> {
  let [low, high] = [32768, 60999];
  try {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (range.length === 2 && range.every(Number.isInteger)) [low, high] = range;
  } catch {
    // Not Linux: the usual default range.
  }
  const candidates = [
    [10_000, low - 1],
    [high + 1, 65_535],
  ].filter(([a, b]) => b >= a);
  for (let i = 0; i < 200 && candidates.length > 0; i++) {
    const [a, b] = candidates[randomInt(candidates.length)];
    const port = randomInt(a, b + 1);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port outside the ephemeral range ${low}-${high}`);
}

/** The "Platform listening" log line's fields, or undefined when the line is not JSON (stdout and stderr interleaved). */
function parseLine(line: string): { url: string; issuer?: string } | undefined {
  try {
    return JSON.parse(line) as { url: string; issuer?: string };
  } catch {
    return undefined;
  }
}

/** The built platform running as its own process (`node dist/src/main.js`), as in production. */
export class PlatformProcess {
  /** Every line the process wrote to stdout and stderr, kept for failure messages. */
  output = '';
  readonly exited: Promise<number | null>;
  /** Called with every whole line written after the start (see {@link waitForLine}). */
  private readonly lineWatchers = new Set<(line: string) => void>();
  private partialLine = '';
  private constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly url: string,
    /** The issuer it trusts, as it logged it (the development provider's when it started one). */
    readonly issuer: string | undefined,
    exited: Promise<number | null>,
  ) {
    this.exited = exited;
  }

  /**
   * Starts the process and resolves once it logs "Platform listening" (its log level must be
   * `info` or lower); killed when it does not within 60 s.
   * @param env its whole environment (PATH is added)
   * @throws Error with the end of its output when it exits before listening
   */
  static start(env: Record<string, string>): Promise<PlatformProcess> {
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let output = '';
    return new Promise((resolve, reject) => {
      let started: PlatformProcess | undefined;
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (started) {
          started.output = output.slice(-20_000);
          started.takeLines(chunk.toString());
          return;
        }
        // Whole lines only (a chunk can end mid-line).
        const line = output
          .split('\n')
          .slice(0, -1)
          .find((l) => l.includes('"msg":"Platform listening"'));
        const entry = line ? parseLine(line) : undefined;
        if (entry) {
          clearTimeout(timer);
          started = new PlatformProcess(child, entry.url, entry.issuer, exited);
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

  private takeLines(text: string): void {
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) for (const watch of [...this.lineWatchers]) watch(line);
  }

  /** Calls `watch` with every whole line written from now on; returns the function that stops it. */
  watchLines(watch: (line: string) => void): () => void {
    this.lineWatchers.add(watch);
    return () => this.lineWatchers.delete(watch);
  }

  /**
   * Resolves once `count` further lines containing `text` were written (from now on), or rejects
   * after `timeoutMs` or when the process exits first.
   */
  waitForLine(text: string, count = 1, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.lineWatchers.delete(watch);
        if (err) reject(err);
        else resolve();
      };
      const watch = (line: string) => {
        if (line.includes(text) && ++seen >= count) done();
      };
      const timer = setTimeout(
        () =>
          done(new Error(`no line with ${JSON.stringify(text)} within ${timeoutMs} ms: ${this.output.slice(-2000)}`)),
        timeoutMs,
      );
      this.lineWatchers.add(watch);
      void this.exited.then(
        () =>
          this.lineWatchers.has(watch) &&
          done(new Error(`process exited before a line with ${JSON.stringify(text)}: ${this.output.slice(-2000)}`)),
      );
    });
  }

  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
