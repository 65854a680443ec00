import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** The haproxy binary, when installed (.ci/run installs Debian's package). */
export function haproxyBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * HAProxy in front of platform instances on 127.0.0.1, as a Kubernetes Service and ingress would be:
 * round robin, health checks on `/health/ready` every 300 ms (3 failures: down, 2 passes: up), a request that could not reach an
 * instance (connection refused or closed before any response) retried on another one, and the
 * runtime API on a Unix socket to drain a server (what removing a pod from the endpoints does).
 * Each response names the instance that answered in `X-Served-By`.
 */
export class HaProxy {
  /** The access log line of each request, by its X-Request-Id (to explain a failed request). */
  readonly logs = new Map<string, string>();
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
    private readonly socket: string,
  ) {}

  /** @param servers instance name -> port on 127.0.0.1 */
  static async start(binary: string, port: number, servers: Record<string, number>): Promise<HaProxy> {
    const dir = mkdtempSync(path.join(tmpdir(), 'haproxy-'));
    const socket = path.join(dir, 'admin.sock');
    const config = [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      '  maxconn 2000',
      '  log stderr format raw local0 info',
      'defaults',
      '  mode http',
      '  log global',
      '  option httplog',
      '  timeout connect 1s',
      '  timeout client 30s',
      '  timeout server 30s',
      // A readiness answer slower than this counts as a failed check (a loaded machine answers in well under it).
      '  timeout check 2s',
      '  timeout http-keep-alive 5s',
      // Only failures where the instance cannot have answered: connection refused or reset before a response.
      '  retries 3',
      '  option redispatch 1',
      '  retry-on conn-failure empty-response',
      'frontend api',
      `  bind 127.0.0.1:${port}`,
      // The log line of each request names its X-Request-Id and how it ended (termination state).
      '  capture request header x-request-id len 80',
      '  default_backend platform',
      'backend platform',
      '  balance roundrobin',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      '  http-response set-header X-Served-By %s',
      '  default-server inter 300ms fastinter 200ms downinter 200ms fall 3 rise 2',
      ...Object.entries(servers).map(([name, p]) => `  server ${name} 127.0.0.1:${p} check`),
      '',
    ].join('\n');
    writeFileSync(path.join(dir, 'haproxy.cfg'), config);
    const child = spawn(binary, ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const proxy = new HaProxy(child, dir, `http://127.0.0.1:${port}`, socket);
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) {
        const id = /\{([^}|]*)\}/.exec(line)?.[1];
        if (id) proxy.logs.set(id, line);
      }
    });
    // Up once the runtime API answers.
    for (let i = 0; ; i++) {
      try {
        await proxy.admin('show info');
        break;
      } catch (err) {
        if (child.exitCode !== null || i > 100)
          throw new Error(`haproxy did not start: ${stderr || (err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return proxy;
  }

  /** Sends one command to the runtime API and resolves with its answer. */
  admin(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const conn = connect(this.socket);
      let out = '';
      conn.on('data', (c) => (out += c.toString()));
      conn.on('end', () => resolve(out));
      conn.on('error', reject);
      conn.write(`${command}\n`);
    });
  }

  /** The server's status (`UP`, `DOWN`, `DRAIN`, `MAINT`, ...) and its current sessions. */
  async server(name: string): Promise<{ status: string; sessions: number }> {
    const csv = await this.admin('show stat');
    const header = csv.split('\n')[0].replace(/^# /, '').split(',');
    const row = csv
      .split('\n')
      .map((line) => line.split(','))
      .find((cells) => cells[0] === 'platform' && cells[1] === name);
    if (!row) throw new Error(`haproxy has no server ${name}`);
    return { status: row[header.indexOf('status')], sessions: Number(row[header.indexOf('scur')]) };
  }

  /** Resolves once `predicate` holds for the server's state, polled (HAProxy has no event for it), within `timeoutMs`. */
  async until(
    name: string,
    predicate: (s: { status: string; sessions: number }) => boolean,
    timeoutMs = 15_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.server(name);
      if (predicate(state)) return;
      if (Date.now() > deadline) throw new Error(`haproxy server ${name} stayed ${JSON.stringify(state)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
