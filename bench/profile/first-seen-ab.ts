/**
 * In-process A/B of the first-seen token path (see first-seen-slice.ts) between this checkout and
 * another one (`--old <checkout>`, e.g. a worktree at the base commit, its libs/auth/src loaded
 * from there; its `@platform/*` imports resolve to this checkout's libraries). Both variants run
 * in one process, interleaved (ABBA), each round a batch of tokens neither has seen; CPU from
 * `process.cpuUsage()`. Run: `npx tsx bench/profile/first-seen-ab.ts --old ../old [--rounds R] [--tokens N]`.
 */
import * as path from 'node:path';
import passport from 'passport';
import { Strategy } from 'passport-jwt';
import { parsePlatformConfig, type PlatformConfig } from '@platform/config';
import { PlatformMetrics } from '@platform/observability';
import { AUDIENCE, makeFirstSeenTokens, startIssuer } from '../lib/issuer';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};

type Verifier = unknown;
const refusal = (err: unknown): Error => (err instanceof Error ? err : new Error(`refused: ${String(err)}`));
const holder = Strategy as unknown as { JwtVerifier: Verifier };

interface Variant {
  name: string;
  strategy: unknown;
  verifier: Verifier;
  bearer: symbol;
  lookup(token: string): unknown;
  samples: number[];
}

async function load(name: string, root: string, config: PlatformConfig): Promise<Variant> {
  const src = path.resolve(root, 'libs/auth/src');
  // The same modules from another checkout: typed as this checkout's (the A/B compares their cost, not their shape).
  /* eslint-disable @typescript-eslint/no-require-imports -- two copies of one module, chosen at run time */
  const { IssuerRegistry } = require(`${src}/issuer-registry`) as typeof import('../../libs/auth/src/issuer-registry');
  const { VerifiedTokenCache } = require(
    `${src}/verified-token-cache`,
  ) as typeof import('../../libs/auth/src/verified-token-cache');
  const { BEARER_TOKEN, JwtBearerStrategy } = require(
    `${src}/jwt-bearer.strategy`,
  ) as typeof import('../../libs/auth/src/jwt-bearer.strategy');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const registry = new IssuerRegistry(config, new PlatformMetrics());
  await registry.onModuleInit();
  const cache = new VerifiedTokenCache(config, registry);
  const original = holder.JwtVerifier;
  const strategy = new JwtBearerStrategy(registry, cache);
  // Each copy installs its EdDSA routing over passport-jwt's static verifier: kept apart, set per batch.
  const verifier = holder.JwtVerifier;
  holder.JwtVerifier = original;
  return { name, strategy, verifier, bearer: BEARER_TOKEN, lookup: (t) => cache.lookup(t), samples: [] };
}

async function main(): Promise<void> {
  const issuer = await startIssuer();
  const config = parsePlatformConfig({
    NODE_ENV: 'test',
    OIDC_ISSUER: issuer.url,
    OIDC_AUDIENCE: AUDIENCE,
  });
  const original = holder.JwtVerifier;
  const variants = [
    await load('old', arg('old', '../old'), config),
    await load('new', path.resolve(__dirname, '../..'), config),
  ];
  const rounds = Number(arg('rounds', '20'));
  const perRound = Number(arg('tokens', '200'));
  const warmup = 300;
  const tokens = await makeFirstSeenTokens(issuer, 'ab', 2 * (rounds * perRound + warmup));
  let next = 0;
  const run = async (v: Variant, batch: string[]): Promise<number> => {
    passport.use('platform-jwt-bearer', v.strategy as passport.Strategy);
    holder.JwtVerifier = v.verifier;
    const start = process.cpuUsage();
    for (const token of batch)
      await new Promise<unknown>((resolve, reject) => {
        const req = { [v.bearer]: token, headers: {} };
        const middleware = passport.authenticate(
          'platform-jwt-bearer',
          { session: false },
          (err: unknown, user: unknown, info: unknown) => (user ? resolve(user) : reject(refusal(err ?? info))),
        ) as (req: object, res: object, next: (err?: unknown) => void) => void;
        middleware(req, {}, (err) => reject(refusal(err)));
      });
    const used = process.cpuUsage(start);
    holder.JwtVerifier = original;
    for (const token of batch) if (!v.lookup(token)) throw new Error(`${v.name} did not remember a token`);
    return (used.user + used.system) / batch.length;
  };
  for (const v of variants) await run(v, tokens.slice(next, (next += warmup)));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) v.samples.push(await run(v, tokens.slice(next, (next += perRound))));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
  for (const v of variants)
    console.log(
      `${v.name}: ${med(v.samples).toFixed(1)} µs/token (p25 ${q(v.samples, 0.25).toFixed(1)}, p75 ${q(v.samples, 0.75).toFixed(1)}, min ${Math.min(...v.samples).toFixed(1)}, max ${Math.max(...v.samples).toFixed(1)})`,
    );
  const ratios = variants[1].samples.map((s, i) => s / variants[0].samples[i]);
  console.log(
    `new/old per round: median ${med(ratios).toFixed(3)} (p25 ${q(ratios, 0.25).toFixed(3)}, p75 ${q(ratios, 0.75).toFixed(3)}); ${rounds} rounds x ${perRound} tokens each`,
  );
  issuer.server.close();
}

void main();
