/**
 * The first-seen token path in-process, without HTTP: the passport strategy (through passport, as
 * @nestjs/passport calls it), key lookup, RS256 check, claim mapping and the verified-token cache,
 * fed distinct pre-signed RS256 tokens; and a warm token (the guard's cache lookup) for comparison.
 * Run: `npx tsx bench/profile/first-seen-slice.ts [--rounds R] [--tokens N] [--profile PREFIX]` (CPU µs per token, medians of rounds).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import passport from 'passport';
import { parsePlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { IssuerRegistry } from '../../libs/auth/src/issuer-registry';
import { BEARER_TOKEN, JWT_BEARER_STRATEGY, JwtBearerStrategy } from '../../libs/auth/src/jwt-bearer.strategy';
import { VerifiedTokenCache } from '../../libs/auth/src/verified-token-cache';
import { AUDIENCE, makeFirstSeenTokens, startIssuer } from '../lib/issuer';

const refusal = (err: unknown): Error => (err instanceof Error ? err : new Error(`refused: ${String(err)}`));

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};

async function main(): Promise<void> {
  const issuer = await startIssuer();
  const config = parsePlatformConfig({
    NODE_ENV: 'test',
    OIDC_ISSUER: issuer.url,
    OIDC_AUDIENCE: AUDIENCE,
  });
  const registry = new IssuerRegistry(config, new PlatformMetrics());
  await registry.onModuleInit();
  const cache = new VerifiedTokenCache(config, registry);
  new JwtBearerStrategy(registry, cache);
  const rounds = arg('rounds', 10);
  const perRound = arg('tokens', 500);
  const tokens = await makeFirstSeenTokens(issuer, 'slice', rounds * perRound + 200);
  const authenticate = (token: string) =>
    new Promise<unknown>((resolve, reject) => {
      const req = { [BEARER_TOKEN]: token, headers: {} };
      const middleware = passport.authenticate(
        JWT_BEARER_STRATEGY,
        { session: false },
        (err: unknown, user: unknown, info: unknown) => (user ? resolve(user) : reject(refusal(err ?? info))),
      ) as (req: object, res: object, next: (err?: unknown) => void) => void;
      middleware(req, {}, (err) => reject(refusal(err)));
    });
  // Warm-up: the JIT, and the first-seen path once per token.
  for (const t of tokens.slice(0, 200)) await authenticate(t);
  // --profile <file>: a CPU profile of the measured first-seen loops only (100 µs sampling).
  const profileAt = process.argv.indexOf('--profile');
  const session = profileAt === -1 ? undefined : new Session();
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  const firstSeen: number[] = [];
  const warm: number[] = [];
  let next = 200;
  for (let r = 0; r < rounds; r++) {
    const batch = tokens.slice(next, (next += perRound));
    await session?.post('Profiler.start');
    let c = process.cpuUsage();
    for (const t of batch) await authenticate(t);
    let d = process.cpuUsage(c);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${process.argv[profileAt + 1]}.${r}.cpuprofile`, JSON.stringify(profile));
    }
    firstSeen.push((d.user + d.system) / batch.length);
    c = process.cpuUsage();
    for (const t of batch) if (!cache.lookup(t)) throw new Error('not remembered');
    d = process.cpuUsage(c);
    warm.push((d.user + d.system) / batch.length);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs: number[]) => `${med(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
  console.log(`first-seen µs/token: ${fmt(firstSeen)}; warm lookup: ${fmt(warm)}; ${rounds} rounds x ${perRound}`);
  issuer.server.close();
}

void main();
