import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestPlatform } from '../support/test-platform';

const root = path.resolve(__dirname, '../..');

/** A listener on a free port of 127.0.0.1, held by this test process. */
async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Runs `npm run token` (the script itself, through tsx) and returns its exit code and output. */
async function runToken(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/token.ts', ...args],
    { cwd: root },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

describe('start: a port in use names its setting and holder', () => {
  for (const setting of ['PORT', 'DEV_OIDC_PORT']) {
    it(`${setting}: the error names ${setting}, the address and this test process as the holder`, async () => {
      const { server, port } = await holdPort();
      try {
        const failure = await TestPlatform.start({ [setting]: String(port) }).then(
          async (platform) => {
            await platform.close();
            return undefined;
          },
          (err: Error) => err,
        );
        expect(failure?.message).toContain(
          `${setting}=${port}: 127.0.0.1:${port} is already in use by process ${process.pid}`,
        );
        expect(failure?.message).toContain(`set ${setting} to a free port`);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});

describe('start: a short log at info that ends with a summary', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await TestPlatform.start({ LOG_LEVEL: 'debug' });
  });
  afterAll(() => platform?.close());

  it('writes module and route-mapping lines at debug, none at info', () => {
    const lines = platform.logLines();
    const mappings = lines.filter((l) => typeof l.msg === 'string' && /^Mapped \{/.test(l.msg));
    expect(mappings.length).toBeGreaterThan(30);
    expect(mappings.every((l) => l.level === 20)).toBe(true);
    const routine = lines.filter((l) =>
      ['RoutesResolver', 'RouterExplorer', 'InstanceLoader'].includes(l.context as string),
    );
    expect(routine.filter((l) => (l.level as number) >= 30)).toEqual([]);
  });

  it('ends the start with the summary: API, OpenAPI, provider, token command, database, cache', async () => {
    const info = platform.logLines().filter((l) => (l.level as number) >= 30);
    const summaryAt = info.findIndex((l) => typeof l.msg === 'string' && l.msg.startsWith('Platform ready'));
    expect(summaryAt).toBeGreaterThanOrEqual(0);
    expect(
      info.slice(summaryAt + 1).filter((l) => l.context !== undefined || /start|listen/i.test(String(l.msg))),
    ).toEqual([]);
    // The whole start at info is short: no per-module or per-route line.
    expect(summaryAt).toBeLessThan(15);
    const summary = info[summaryAt].summary as Record<string, string>;
    expect(summary).toMatchObject({
      api: platform.url,
      openapi: `${platform.url}/docs`,
      database: expect.stringContaining('embedded PGlite'),
      cache: expect.stringContaining('in-process'),
    });
    expect(summary.provider).toContain(platform.issuer);
    expect(summary.token).toContain(
      `DEV_OIDC_PORT=${new URL(platform.issuer).port} npm run --silent token -- --user bob`,
    );
    expect(info[summaryAt].msg).toContain(`OpenAPI:   ${platform.url}/docs`);
    // What it names answers.
    expect((await fetch(summary.openapi)).status).toBe(200);
  });

  it("npm run token gets a token from this platform's development provider", async () => {
    const result = await runToken(['--user', 'bob', '--issuer', platform.issuer]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    expect((await platform.request('GET', '/billing/invoices', { token })).status).toBe(200);
  });
});

describe("npm run token refuses a provider that is not this platform's", () => {
  let other: HttpServer;
  let issuer: string;
  beforeAll(async () => {
    // Another OpenID provider on the port: a valid discovery document without the platform's mark.
    other = createHttpServer((req, res) => {
      const body = JSON.stringify({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
      });
      res
        .writeHead(req.url === '/.well-known/openid-configuration' ? 200 : 404, { 'content-type': 'application/json' })
        .end(body);
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => other.close(resolve)));

  for (const args of [
    ['--user', 'bob'],
    ['--client', 'ingest-bot'],
  ]) {
    it(`${args.join(' ')}: exits 1, says whose provider it is not and what to do, prints no token`, async () => {
      const result = await runToken([...args, '--issuer', issuer]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`token: ${issuer} is not this platform's development provider`);
      expect(result.stderr).toContain('DEV_OIDC_PORT');
    });
  }
});
